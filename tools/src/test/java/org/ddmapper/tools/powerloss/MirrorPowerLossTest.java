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
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.targets.fault.logwrites.LogWritesType;
import org.ddmapper.targets.mirror.MirrorType;
import org.ddmapper.tools.verify.Journal;
import org.ddmapper.tools.verify.VerifyingWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mirror's dirty-region log ordering under power loss: the verifying writer writes to a
 * two-leg mirror with a {@code disk} log (regions of 16 sectors), legs and log laid out on one
 * log-writes device; the log is replayed to every flush and FUA point and random points between,
 * and {@link MirrorInvariant} checks each: every region the log calls clean is the same on both
 * legs, every acknowledged-and-flushed write is on the leg a resync copies from. A log device that
 * acknowledges FUA and flushes without making anything durable is caught.
 * {@code -Dpowerloss.workloads=N -Dpowerloss.ops=N} run more (bench/powerloss.sh --workload mirror).
 */
@Timeout(300)
class MirrorPowerLossTest {
    static final long LEG_SECTORS = 1024;
    static final long REGION_SECTORS = 16;
    static final long LOG_SECTORS = 8;
    static final int BLOCK = 4096;
    /** The mirror's cleaner looks for idle regions this often (Mirror.TICK_MILLIS). */
    static final long CLEANER_TICK_MILLIS = 500;
    @TempDir
    Path dir;

    /** The checker of the last {@link #run}. */
    private MirrorInvariant checker;

    PowerLoss.Result run(int ops, long seed, UnaryOperator<Bio> logLayer) throws Exception {
        long total = 2 * LEG_SECTORS + LOG_SECTORS;
        MemoryDevice data = new MemoryDevice("/data", total);
        MemoryDevice log = new MemoryDevice("/log", 64 * 1024);
        Path journal = dir.resolve("journal-" + seed);
        long blocks = LEG_SECTORS * 512 / BLOCK;
        try (FakeTargetContext lwContext = new FakeTargetContext(total, data, log);
             Journal j = Journal.create(journal, 42, blocks, BLOCK)) {
            Target lw = new LogWritesType().create(lwContext, lwContext.args("log-writes", "/data /log"));
            BlockDevice a = Stacked.slice("/a", lw, 0, LEG_SECTORS, UnaryOperator.identity());
            BlockDevice b = Stacked.slice("/b", lw, LEG_SECTORS, LEG_SECTORS, UnaryOperator.identity());
            BlockDevice mlog = Stacked.slice("/mlog", lw, 2 * LEG_SECTORS, LOG_SECTORS, logLayer);
            try (FakeTargetContext mc = new FakeTargetContext(LEG_SECTORS, a, b, mlog)) {
                Target mirror = new MirrorType().create(mc, mc.args("mirror", "disk 2 /mlog " + REGION_SECTORS + " 2 /a 0 /b 0"));
                mirror.preresume();
                mirror.resume();
                awaitInSync(mirror); // the first resync of a new log; then idle regions are marked clean on the log
                Thread.sleep(2 * CLEANER_TICK_MILLIS + 200);
                // pauses of more than two cleaner ticks: regions written before one are clean on the log after it
                BlockDevice device = Stacked.paced(Stacked.device("mirror", mirror, LEG_SECTORS), ops / 4, 2 * CLEANER_TICK_MILLIS + 200);
                VerifyingWriter.Outcome outcome = new VerifyingWriter(device, blocks, BLOCK, 42, j,
                        text -> lw.message(Message.of("mark", text))).run(ops, Long.MAX_VALUE, 0.08, 0.08, seed);
                assertEquals("done", outcome.stopped(), outcome.toString());
                mirror.presuspend(false);
                mirror.postsuspend();
                mirror.destroy();
            }
            lw.destroy();
        }
        Path logFile = Files.write(dir.resolve("log-" + seed), log.contents(0, log.sizeSectors()));
        Path finalImage = Files.write(dir.resolve("final-" + seed + ".img"), data.contents(0, total));
        checker = new MirrorInvariant(journal, LEG_SECTORS, REGION_SECTORS);
        return new PowerLoss(new PowerLoss.Options(logFile, null, total, 2, seed, dir, finalImage), List.of(checker)).run();
    }

    private static void awaitInSync(Target mirror) throws InterruptedException {
        long regions = LEG_SECTORS / REGION_SECTORS;
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!mirror.status(StatusType.INFO).contains(" " + regions + "/" + regions + " ")) {
            if (System.nanoTime() > deadline) throw new AssertionError("not in sync within 30 s: " + mirror.status(StatusType.INFO));
            Thread.sleep(5);
        }
    }

    @Test
    void cleanRegionsAreTheSameOnBothLegsAndEveryFlushedWriteIsThereAtEveryCrashPoint() throws Exception {
        int workloads = Integer.getInteger("powerloss.workloads", 1);
        int ops = Integer.getInteger("powerloss.ops", 400);
        for (int w = 0; w < workloads; w++) {
            PowerLoss.Result r = run(ops, 1 + w, UnaryOperator.identity());
            System.out.println("mirror workload " + (w + 1) + " of " + workloads + " (" + ops + " operations): " + r + "; "
                    + checker.cleanRegionsCompared() + " clean regions compared leg against leg");
            assertEquals(List.of(), r.violations(), r.toString());
            assertTrue(checker.cleanRegionsCompared() > r.points(), "the log called regions clean: " + checker.cleanRegionsCompared());
            assertTrue(r.flushPoints() > ops / 40 && r.fuaPoints() > ops / 40 && r.betweenPoints() > ops / 40, r.toString());
        }
    }

    @Test
    void aLogDeviceThatAcknowledgesFuaAndFlushesWithoutThemIsCaught() throws Exception {
        PowerLoss.Result r = run(300, 3, bio -> bio.op() == BioOp.FLUSH ? null : bio.isFua() ? bio.withFlags(0) : bio);
        assertFalse(r.violations().isEmpty(), r.toString());
        assertTrue(r.violations().stream().anyMatch(v -> v.matches("mirror .*: region \\d+: the log says clean, but the legs differ.*")),
                r.violations().get(0));
    }
}
