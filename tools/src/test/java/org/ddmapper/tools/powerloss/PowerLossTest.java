package org.ddmapper.tools.powerloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.targets.fault.logwrites.LogWritesType;
import org.ddmapper.tools.verify.Journal;
import org.ddmapper.tools.verify.VerifyingWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The power-loss replay over logs our log-writes target made: a verifying writer's run through a
 * correct stack holds at every crash point; a stack that loses flushes, or FUA, is caught.
 */
@Timeout(60)
class PowerLossTest {
    private static final long DATA_SECTORS = 2048;
    private static final int BLOCK = 4096;
    @TempDir
    Path dir;

    /** A writer's run of {@code ops} through {@code layer} over a log-writes target; returns the result of the replay. */
    private PowerLoss.Result run(UnaryOperator<Bio> layer, int ops) throws Exception {
        MemoryDevice data = new MemoryDevice("/data", DATA_SECTORS);
        MemoryDevice log = new MemoryDevice("/log", 64 * 1024);
        Path journal = dir.resolve("journal");
        try (FakeTargetContext context = new FakeTargetContext(DATA_SECTORS, data, log);
             Journal j = Journal.create(journal, 42, DATA_SECTORS * 512 / BLOCK, BLOCK)) {
            Target lw = new LogWritesType().create(context, context.args("log-writes", "/data /log"));
            BlockDevice top = new Above(lw, layer);
            VerifyingWriter.Outcome outcome = new VerifyingWriter(top, DATA_SECTORS * 512 / BLOCK, BLOCK, 42, j,
                    text -> lw.message(Message.of("mark", text))).run(ops, Long.MAX_VALUE, 0.1, 0.1, 7);
            assertEquals("done", outcome.stopped());
            lw.destroy();
        }
        Path logFile = Files.write(dir.resolve("log.img"), log.contents(0, log.sizeSectors()));
        Path finalImage = Files.write(dir.resolve("final.img"), data.contents(0, DATA_SECTORS));
        return new PowerLoss(new PowerLoss.Options(logFile, null, DATA_SECTORS, 3, 1, dir, finalImage), List.of(new VerifierInvariant(journal)))
                .run();
    }

    @Test
    void aCorrectStackKeepsEveryFlushedWriteAtEveryCrashPoint() throws Exception {
        PowerLoss.Result r = run(UnaryOperator.identity(), 600);
        assertEquals(List.of(), r.violations());
        assertTrue(r.flushPoints() > 30 && r.fuaPoints() > 30 && r.betweenPoints() > 60, r.toString());
    }

    @Test
    void aLayerThatAnswersFlushesWithoutPassingThemDownIsCaught() throws Exception {
        PowerLoss.Result r = run(bio -> bio.op() == BioOp.FLUSH ? null : bio, 300);
        assertFalse(r.violations().isEmpty(), r.toString());
        assertTrue(r.violations().get(0).matches("verifier .*: block \\d+: (zeros, but write \\d+|write \\d+, older than write \\d+).*"),
                r.violations().get(0));
    }

    @Test
    void aLayerThatDropsFuaIsCaught() throws Exception {
        PowerLoss.Result r = run(bio -> bio.isFua() ? bio.withFlags(0) : bio, 300);
        assertFalse(r.violations().isEmpty(), r.toString());
    }

    @Test
    void fioBlocksAreWholeOrZeroAndAnythingElseIsNamed() throws Exception {
        Path image = dir.resolve("fio.img");
        ByteBuffer good = fioBlock(8192);
        ByteBuffer misplaced = fioBlock(4096);
        ByteBuffer torn = fioBlock(12288);
        torn.put(3000, (byte) 1);
        try (FileChannel f = FileChannel.open(image, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.StandardOpenOption.READ)) {
            f.write(misplaced, 0);
            f.write(good, 8192);
            f.write(torn, 12288);
            f.write(ByteBuffer.allocate(BLOCK), 16384);
            List<String> problems = new FioInvariant(BLOCK).check(new CrashPoint(3, CrashPoint.Kind.FLUSH, null, 0, 0), f);
            assertEquals(List.of("block at byte 0: fio wrote it for byte 4096", "block at byte 12288: data checksum mismatch (torn or corrupted)"),
                    problems);
        }
    }

    /** A block as fio 3.33 writes it with --verify=crc32c (header and data checksums not inverted at the end). */
    private static ByteBuffer fioBlock(long offset) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xacca).putShort((short) 5).putInt(BLOCK).putLong(99).putLong(offset).putInt(0).putInt(7).putShort((short) 1)
                .putShort((short) 3);
        for (int i = 44; i < BLOCK; i++) b.put(i, (byte) (i * 31));
        b.putInt(36, ~crc(b.array(), 0, 36));
        b.putInt(40, ~crc(b.array(), 44, BLOCK - 44));
        return b.clear();
    }

    private static int crc(byte[] b, int from, int length) {
        CRC32C c = new CRC32C();
        c.update(b, from, length);
        return (int) c.getValue();
    }

    /** A layer above the log-writes target: passes what {@code layer} makes of each request (null: answers it OK itself). */
    private record Above(Target target, UnaryOperator<Bio> layer) implements BlockDevice {
        @Override public String reference() { return "above"; }

        @Override public long sizeSectors() { return DATA_SECTORS; }

        @Override
        public void submit(Bio bio) {
            Bio passed = layer.apply(bio);
            if (passed == null) bio.complete(IoStatus.OK);
            else target.map(passed);
        }

        @Override public void close() { }
    }
}
