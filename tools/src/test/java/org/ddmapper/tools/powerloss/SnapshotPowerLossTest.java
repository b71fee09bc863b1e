package org.ddmapper.tools.powerloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Message;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.targets.fault.logwrites.LogWritesType;
import org.ddmapper.targets.snapshot.internal.OriginTarget;
import org.ddmapper.targets.snapshot.internal.SnapshotRegistry;
import org.ddmapper.targets.snapshot.internal.SnapshotTarget;
import org.ddmapper.tools.verify.Journal;
import org.ddmapper.tools.verify.VerifyBlock;
import org.ddmapper.tools.verify.VerifyingWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The snapshot's metadata ordering under power loss: the verifying writer writes to a snapshot
 * (persistent store, 8 KiB chunks) and its origin, both laid out on one log-writes device (origin,
 * then COW); the log is replayed to every flush and FUA point and random points between, and
 * {@link SnapshotInvariant} checks each: the store opens, the snapshot still reads as the origin did
 * when it was made except where it was written, every acknowledged-and-flushed write is there. A COW
 * device that acknowledges FUA and flushes without making anything durable is caught.
 * {@code -Dpowerloss.workloads=N -Dpowerloss.ops=N} run more (bench/powerloss.sh --workload snapshot).
 */
@Timeout(300)
class SnapshotPowerLossTest {
    static final long ORIGIN_SECTORS = 1024;
    static final long COW_SECTORS = 1536; // header, an area, and every origin chunk once (64 of 16 sectors) with room
    static final int BLOCK = 4096;
    private static final long BASE_RUN = 7;
    @TempDir
    Path dir;

    /** One workload of {@code ops} operations; {@code cowLayer} sits between the snapshot and its COW device. */
    PowerLoss.Result run(int ops, long seed, UnaryOperator<Bio> cowLayer) throws Exception {
        long total = ORIGIN_SECTORS + COW_SECTORS;
        MemoryDevice data = new MemoryDevice("/data", total);
        long originBlocks = ORIGIN_SECTORS * 512 / BLOCK;
        for (long b = 0; b < originBlocks; b++) data.store(b * BLOCK / 512, VerifyBlock.encode(BASE_RUN, 0, b, BLOCK).array());
        Path base = Files.write(dir.resolve("base-" + seed + ".img"), data.contents(0, total));
        MemoryDevice log = new MemoryDevice("/log", 96 * 1024);
        Path journal = dir.resolve("journal-" + seed);
        try (FakeTargetContext lwContext = new FakeTargetContext(total, data, log);
             Journal j = Journal.create(journal, 42, 2 * originBlocks, BLOCK)) {
            Target lw = new LogWritesType().create(lwContext, lwContext.args("log-writes", "/data /log"));
            BlockDevice originDevice = Stacked.slice("/origin", lw, 0, ORIGIN_SECTORS, UnaryOperator.identity());
            BlockDevice cowDevice = Stacked.slice("/cow", lw, ORIGIN_SECTORS, COW_SECTORS, cowLayer);
            SnapshotRegistry registry = new SnapshotRegistry(2000);
            try (FakeTargetContext oc = new FakeTargetContext(ORIGIN_SECTORS, originDevice, cowDevice);
                 FakeTargetContext sc = new FakeTargetContext(ORIGIN_SECTORS, originDevice, cowDevice)) {
                OriginTarget origin = live(new OriginTarget(oc, oc.args("snapshot-origin", "/origin"), registry));
                SnapshotTarget snapshot = live(new SnapshotTarget(sc, sc.args("snapshot", "/origin /cow P 16"), registry));
                BlockDevice both = Stacked.pair(Stacked.device("origin", origin, ORIGIN_SECTORS), Stacked.device("snap", snapshot, ORIGIN_SECTORS));
                VerifyingWriter.Outcome outcome = new VerifyingWriter(both, 2 * originBlocks, BLOCK, 42, j,
                        text -> lw.message(Message.of("mark", text))).run(ops, Long.MAX_VALUE, 0.08, 0.08, seed);
                assertEquals("done", outcome.stopped(), outcome.toString());
                remove(snapshot);
                remove(origin);
            }
            lw.destroy();
        }
        Path logFile = Files.write(dir.resolve("log-" + seed), log.contents(0, log.sizeSectors()));
        Path finalImage = Files.write(dir.resolve("final-" + seed + ".img"), data.contents(0, total));
        return new PowerLoss(new PowerLoss.Options(logFile, base, total, 2, seed, dir, finalImage),
                List.of(new SnapshotInvariant(journal, ORIGIN_SECTORS, base))).run();
    }

    private static <T extends Target> T live(T t) {
        t.preresume();
        t.resume();
        return t;
    }

    private static void remove(Target t) {
        t.presuspend(false);
        t.postsuspend();
        t.destroy();
    }

    @Test
    void theStoreOpensAndEveryFlushedWriteAndTheOriginalDataReadBackAtEveryCrashPoint() throws Exception {
        int workloads = Integer.getInteger("powerloss.workloads", 1);
        int ops = Integer.getInteger("powerloss.ops", 400);
        for (int w = 0; w < workloads; w++) {
            PowerLoss.Result r = run(ops, 1 + w, UnaryOperator.identity());
            System.out.println("snapshot workload " + (w + 1) + " of " + workloads + " (" + ops + " operations): " + r);
            assertEquals(List.of(), r.violations(), r.toString());
            assertTrue(r.flushPoints() > ops / 40 && r.fuaPoints() > ops / 40 && r.betweenPoints() > ops / 40, r.toString());
        }
    }

    @Test
    void aCowDeviceThatAcknowledgesFuaAndFlushesWithoutThemIsCaught() throws Exception {
        PowerLoss.Result r = run(300, 3, bio -> bio.op() == BioOp.FLUSH ? null : bio.isFua() ? bio.withFlags(0) : bio);
        assertFalse(r.violations().isEmpty(), r.toString());
        System.out.println("a COW device without FUA and flushes: " + r + "; first: " + r.violations().get(0));
        assertTrue(r.violations().stream().anyMatch(v -> v.matches("snapshot .*: snapshot block \\d+: neither the origin's data when the snapshot was made"
                + " nor a write to it \\(read from COW chunk \\d+\\)")), r.violations().get(0));
    }
}
