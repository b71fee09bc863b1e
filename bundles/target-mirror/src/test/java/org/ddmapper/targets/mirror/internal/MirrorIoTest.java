package org.ddmapper.targets.mirror.internal;

import static org.ddmapper.targets.mirror.internal.MirrorRig.await;
import static org.ddmapper.targets.mirror.internal.MirrorRig.info;
import static org.ddmapper.targets.mirror.internal.MirrorRig.pattern;
import static org.ddmapper.targets.mirror.internal.MirrorRig.read;
import static org.ddmapper.targets.mirror.internal.MirrorRig.write;
import static org.ddmapper.targets.mirror.internal.MirrorRig.writeAsync;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The I/O paths of a healthy mirror: writes, the log ahead of them, reads, flush and FUA. */
@Timeout(60)
class MirrorIoTest {
    private final MirrorRig rig = new MirrorRig();

    @AfterEach
    void close() { rig.close(); }

    @Test
    void aWriteReachesEveryLegAndReadsBack() {
        Mirror m = rig.start("core 2 8 nosync 3 /a 0 /b 0 /c 0");
        assertEquals(IoStatus.OK, write(m, 20, pattern(12, 1)));
        for (FaultyDevice leg : List.of(rig.a, rig.b, rig.c)) assertArrayEquals(pattern(12, 1), leg.memory.contents(20, 12), leg.reference());
        assertArrayEquals(pattern(12, 1), read(m, 20, 12));
        assertEquals("3 /a /b /c 128/128 1 AAA 1 core", info(m));
    }

    @Test
    void aWriteToACleanRegionReachesTheLegsOnlyAfterItsDirtyMarkIsDurable() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0");
        assertTrue(rig.cleanOnDisk(5));
        rig.a.holdWrites();
        rig.b.holdWrites();
        int logRequestsBefore = rig.log.memory.requests().size();
        Completion done = writeAsync(m, 5 * 8 + 1, pattern(2, 2));
        await("the write reaches leg a", () -> rig.a.heldWrites() == 1);
        // by then the log holds the dirty mark and was flushed, and the write is not acknowledged
        assertFalse(rig.cleanOnDisk(5), "region 5 is dirty on the log device");
        assertTrue(rig.cleanOnDisk(4) && rig.cleanOnDisk(6));
        List<MemoryDevice.Request> logged = rig.log.memory.requests().subList(logRequestsBefore, rig.log.memory.requests().size());
        assertEquals(List.of(BioOp.WRITE, BioOp.FLUSH), logged.stream().map(MemoryDevice.Request::op).toList());
        assertFalse(done.isDone());
        rig.a.releaseWrites();
        rig.b.releaseWrites();
        assertEquals(IoStatus.OK, done.get());
        // a second write to the dirty region needs no log write at all
        int logRequests = rig.log.memory.requests().size();
        assertEquals(IoStatus.OK, write(m, 5 * 8, pattern(1, 3)));
        assertEquals(logRequests, rig.log.memory.requests().size());
    }

    @Test
    void writesArrivingTogetherShareOneLogWrite() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0");
        rig.log.holdWrites();
        List<Completion> done = new ArrayList<>();
        done.add(writeAsync(m, 0, pattern(1, 1)));
        await("the first log write is out", () -> rig.log.heldWrites() == 1);
        for (int r = 1; r < 20; r++) done.add(writeAsync(m, r * 8, pattern(1, r)));
        rig.log.releaseWrites();
        done.forEach(c -> assertEquals(IoStatus.OK, c.get()));
        // the first region's write, then one write for the 19 that came while it was out
        long logWrites = rig.log.memory.requests(BioOp.WRITE).size();
        assertTrue(logWrites <= 3, logWrites + " log writes for 20 dirty marks");
        for (int r = 0; r < 20; r++) assertFalse(rig.cleanOnDisk(r));
    }

    @Test
    void aSequentialStreamMarksRegionsDirtyAheadOfItself() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0");
        int before = rig.log.memory.requests(BioOp.WRITE).size();
        for (int r = 0; r < 60; r++) assertEquals(IoStatus.OK, write(m, r * 8, pattern(8, r)));
        int logWrites = rig.log.memory.requests(BioOp.WRITE).size() - before;
        assertEquals(2, logWrites, "region 0, then regions 1-65 with the second write");
        assertFalse(rig.cleanOnDisk(65));
        assertTrue(rig.cleanOnDisk(66));
        // a random write does not mark ahead
        assertEquals(IoStatus.OK, write(m, 100 * 8, pattern(8, 1)));
        assertTrue(rig.cleanOnDisk(101));
        MirrorRig.suspend(m);
        for (int r = 0; r < 128; r++) assertTrue(rig.cleanOnDisk(r), "idle regions marked ahead are clean again: " + r);
    }

    @Test
    void idleRegionsAreMarkedCleanInABatchAfterTheLegsAreFlushed() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0");
        for (int r = 0; r < 10; r++) assertEquals(IoStatus.OK, write(m, r * 8, pattern(8, r)));
        assertFalse(rig.cleanOnDisk(3), "right after the write the region stays dirty");
        int flushesA = rig.a.memory.requests(BioOp.FLUSH).size();
        await("regions marked clean after a tick or two idle", () -> rig.cleanOnDisk(0) && rig.cleanOnDisk(9));
        assertTrue(rig.a.memory.requests(BioOp.FLUSH).size() > flushesA, "leg a flushed before the clean marks");
        assertTrue(rig.b.memory.requests(BioOp.FLUSH).size() > 0, "leg b flushed before the clean marks");
        assertEquals("2 /a /b 128/128 1 AA 3 disk /log A", info(m));
    }

    @Test
    void aSuspendLeavesEveryIdleRegionCleanInTheLog() {
        Mirror m = rig.start("disk 3 /log 8 nosync 2 /a 0 /b 0");
        assertEquals(IoStatus.OK, write(m, 0, pattern(8, 1)));
        assertFalse(rig.cleanOnDisk(0));
        MirrorRig.suspend(m);
        assertTrue(rig.cleanOnDisk(0));
    }

    @Test
    void flushReachesEveryLegAndTheLogDevice() {
        Mirror m = rig.start("disk 3 /log 8 nosync 3 /a 0 /b 0 /c 0");
        int logFlushes = rig.log.memory.requests(BioOp.FLUSH).size();
        Completion done = new Completion();
        m.map(Bio.flush(done));
        assertEquals(IoStatus.OK, done.get());
        for (FaultyDevice leg : List.of(rig.a, rig.b, rig.c)) assertEquals(1, leg.memory.requests(BioOp.FLUSH).size(), leg.reference());
        assertEquals(logFlushes + 1, rig.log.memory.requests(BioOp.FLUSH).size());
    }

    @Test
    void fuaReachesEveryLeg() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0");
        Completion done = new Completion();
        m.map(Bio.write(16, ByteBuffer.wrap(pattern(1, 4)), Bio.FUA, done));
        assertEquals(IoStatus.OK, done.get());
        assertTrue(rig.a.memory.requests(BioOp.WRITE).get(0).isFua());
        assertTrue(rig.b.memory.requests(BioOp.WRITE).get(0).isFua());
    }

    @Test
    void aDiscardZeroesEveryLegSoTheyStayEqual() {
        Mirror m = rig.start("core 2 8 nosync 2 /a 0 /b 0");
        assertEquals(IoStatus.OK, write(m, 0, pattern(16, 5)));
        Completion done = new Completion();
        m.map(Bio.discard(4, 8, done));
        assertEquals(IoStatus.OK, done.get());
        assertEquals(BioOp.WRITE_ZEROES, rig.a.memory.requests().get(1).op());
        assertArrayEquals(new byte[8 * 512], rig.a.memory.contents(4, 8));
        assertTrue(MirrorRig.sameContents(rig.a, rig.b));
    }

    @Test
    void readsInSyncRegionsSpreadOverTheLegs() {
        Mirror m = rig.start("core 2 8 nosync 3 /a 0 /b 0 /c 0");
        for (int i = 0; i < 60; i++) read(m, (i % 128) * 8, 1);
        for (FaultyDevice leg : List.of(rig.a, rig.b, rig.c))
            assertEquals(20, leg.memory.requests(BioOp.READ).size(), leg.reference() + " takes a third of the reads");
    }

    @Test
    void readsOfRegionsOutOfSyncGoToTheDefaultLegOnly() {
        Mirror m = Mirror.create(rig.context, rig.context.args("mirror", "core 1 8 2 /a 0 /b 0"));
        m.preresume(); // not resumed: no resync runs, every region stays out of sync
        rig.a.memory.store(0, pattern(8, 9));
        for (int i = 0; i < 10; i++) assertArrayEquals(pattern(1, 9), java.util.Arrays.copyOf(read(m, 0, 1), 512));
        assertEquals(0, rig.b.memory.requests(BioOp.READ).size());
        assertEquals("2 /a /b 0/128 1 AA 1 core", info(m));
        assertTrue(rig.events().stream().noneMatch(e -> e.kind() == EventKind.MIRROR_RECOVERY_COMPLETE));
    }

    @Test
    void statusAndTableText() {
        Mirror m = rig.start("disk 2 /log 8 2 /a 0 /b 0 1 handle_errors");
        MirrorRig.awaitInSync(m);
        assertEquals("2 /a /b 128/128 1 AA 3 disk /log A", info(m));
        assertEquals("disk 2 /log 8 2 /a 0 /b 0 1 handle_errors", m.status(org.ddmapper.spi.StatusType.TABLE));
    }
}
