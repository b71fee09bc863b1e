package org.ddmapper.targets.fault.logwrites;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel's own log (made by tests/kernel/log-writes/make-images.sh: Debian's 6.1 dm-log-writes
 * over null_blk, driven by workload.sh there) against ours: our reader lists it as the workload
 * says and our replay rebuilds the kernel's data device from it; and our target, given the same
 * requests in the same order, writes the same bytes to its log device and shows the same status.
 */
@Timeout(30)
class LogWritesKernelImagesTest {
    private static final long DATA_SECTORS = 16384;
    private static final long LOG_SECTORS = 32768;

    @TempDir
    Path dir;

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = new GZIPInputStream(LogWritesKernelImagesTest.class.getResourceAsStream("kernel/" + name))) {
            return in.readAllBytes();
        }
    }

    private Path kernelLog() throws IOException {
        return Files.write(dir.resolve("kernel-log.img"), resource("kernel-log.img.gz"));
    }

    @Test
    void ourReaderListsTheKernelsLogAsTheWorkloadWroteIt() throws IOException {
        try (LogReader r = LogReader.open(kernelLog())) {
            assertEquals(512, r.blockBytes());
            assertEquals(List.of("#0 write 128+8 fua", "#1 write 0+8", "#2 write 64+16", "#3 flush", "#4 flush", "#5 mark 'first'",
                    "#6 write 1024+8 fua", "#7 discard 256+64", "#8 write 8+8", "#9 write 512+16", "#10 flush", "#11 write 2048+32",
                    "#12 flush", "#13 mark 'second'", "#14 write 4096+8", "#15 mark 'dm-log-writes-end'"),
                    r.entries().stream().map(LogReader.Entry::toString).toList());
        }
    }

    @Test
    void ourReplayOfTheKernelsLogGivesTheKernelsDevice() throws IOException {
        Path image = dir.resolve("replayed.img");
        try (LogReader r = LogReader.open(kernelLog());
             FileChannel out = FileChannel.open(image, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            out.truncate(DATA_SECTORS * 512);
            out.write(ByteBuffer.allocate(1), DATA_SECTORS * 512 - 1);
            LogReplay replay = new LogReplay(r, out, DATA_SECTORS);
            for (LogReader.Entry e : r.entries()) replay.apply(e);
        }
        assertArrayEquals(resource("kernel-data.img.gz"), Files.readAllBytes(image));
    }

    @Test
    void givenTheSameRequestsOurTargetWritesTheKernelsLogByteForByte() throws IOException {
        MemoryDevice data = new MemoryDevice("/data", DATA_SECTORS);
        MemoryDevice log = new MemoryDevice("/log", LOG_SECTORS);
        try (FakeTargetContext context = new FakeTargetContext(DATA_SECTORS, data, log);
             LogReader kernel = LogReader.open(kernelLog())) {
            Target t = new LogWritesType().create(context, context.args("log-writes", "/data /log"));
            assertEquals("0 0", t.status(StatusType.INFO), "as the kernel's status before any I/O");
            for (LogReader.Entry e : kernel.entries()) {
                if (e.has(LogFormat.MARK)) {
                    if (!e.mark().equals(LogWrites.END_MARK)) t.message(Message.of("mark", e.mark()));
                    continue;
                }
                Completion done = new Completion();
                if (e.has(LogFormat.DISCARD)) t.map(Bio.discard(e.sector(), e.lengthSectors(), done));
                else if (e.header().blocks() == 0) t.map(Bio.flush(done));
                else t.map(Bio.write(e.sector(), kernel.data(e), e.has(LogFormat.FUA) ? Bio.FUA : 0, done));
                assertTrue(done.get().isOk(), e.toString());
            }
            assertEquals(kernelStatusAfterTheWorkload(), "0 16384 log-writes " + t.status(StatusType.INFO));
            t.destroy();
            byte[] expected = resource("kernel-log.img.gz");
            assertArrayEquals(expected, log.contents(0, expected.length / 512), "our log device against the kernel's");
            assertArrayEquals(resource("kernel-data.img.gz"), data.contents(0, DATA_SECTORS));
        }
    }

    /** The status line the kernel printed once the workload had run (before the teardown). */
    private static String kernelStatusAfterTheWorkload() throws IOException {
        try (InputStream in = LogWritesKernelImagesTest.class.getResourceAsStream("kernel/kernel-status.txt")) {
            List<String> lines = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines()
                    .filter(l -> l.startsWith("0 16384 log-writes ") && !l.contains(":")).toList();
            return lines.get(lines.size() - 1);
        }
    }
}
