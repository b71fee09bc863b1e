package org.ddmapper.targets.snapshot.internal;

import static org.ddmapper.targets.snapshot.internal.Rig.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.EventPayload;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** snapshot-merge: the exceptions go back into the origin while it serves, the store ends empty, other snapshots keep their view. */
@Timeout(60)
class MergeTest {
    static final long ORIGIN_SECTORS = 4096;
    final Rig rig = new Rig();
    final MemoryDevice origin = rig.randomDevice("/origin", ORIGIN_SECTORS, 3);
    final MemoryDevice cow = rig.device("/cow", 2048);

    @AfterEach
    void close() { rig.close(); }

    /** An origin with a snapshot whose view differs from it in many chunks, some in runs. */
    private SnapshotTarget snapshotWithChanges(OriginTarget o) {
        SnapshotTarget s = rig.snapshot("/origin /cow P 8", ORIGIN_SECTORS);
        Random rnd = new Random(5);
        for (int i = 0; i < 40; i++) assertTrue(write(o, rnd.nextInt((int) ORIGIN_SECTORS - 16), filled(1 + rnd.nextInt(16), i)).isOk());
        assertTrue(write(o, 1000, filled(64, 0x77)).isOk(), "a run of eight chunks");
        assertTrue(write(s, 3000, filled(12, 0x55)).isOk(), "the snapshot's own writes merge too");
        return s;
    }

    private void awaitMerged(MergeTarget m) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (rig.events(m).stream().noneMatch(e -> e.kind() == EventKind.SNAPSHOT_MERGE_COMPLETE)) {
            assertTrue(System.nanoTime() < deadline, "merge did not complete: " + m.status(StatusType.INFO));
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void aMergeTakingOverALiveSnapshotLeavesTheOriginAsTheSnapshotShowedIt() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = snapshotWithChanges(o);
        byte[] view = read(s, 0, (int) ORIGIN_SECTORS);
        String before = s.status(StatusType.INFO);
        // as lvconvert --merge: the snapshot and the origin are suspended, the origin's table becomes snapshot-merge
        s.presuspend(false);
        s.postsuspend();
        remove(o);
        MergeTarget m = rig.merge("/origin /cow P 8", ORIGIN_SECTORS);
        awaitMerged(m);
        assertArrayEquals(view, origin.contents(0, ORIGIN_SECTORS), "the origin holds the snapshot's view");
        assertArrayEquals(view, read(m, 0, (int) ORIGIN_SECTORS));
        assertEquals("16/2048 16", m.status(StatusType.INFO), "merged: allocated equals metadata (the kernel's test for done); was " + before);
        byte[] area0 = cow.contents(8, 8);
        assertArrayEquals(new byte[4096], area0, "every entry of area 0 zeroed on disk");
        var done = rig.events(m).stream().filter(e -> e.kind() == EventKind.SNAPSHOT_MERGE_COMPLETE).findFirst().orElseThrow();
        assertTrue(Long.parseLong(done.details().get("chunks")) > 40, done.toString());
        assertEquals(org.ddmapper.api.Errno.EIO, readStatus(s, 0, new byte[512]).errno(), "the old snapshot table returns EIO");
    }

    @Test
    void writesDuringTheMergeLandWhereTheViewSaysAndOtherSnapshotsKeepTheirs() throws Exception {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        MemoryDevice other = rig.device("/other", 4096);
        SnapshotTarget s = snapshotWithChanges(o);
        SnapshotTarget keeper = rig.snapshot("/origin /other P 16", ORIGIN_SECTORS);
        byte[] keeperView = read(keeper, 0, (int) ORIGIN_SECTORS);
        byte[] view = read(s, 0, (int) ORIGIN_SECTORS);
        s.presuspend(false);
        s.postsuspend();
        remove(o);
        MergeTarget m = rig.merge("/origin /cow P 8", ORIGIN_SECTORS);
        Random rnd = new Random(11);
        for (int i = 0; i < 300; i++) {
            int sector = rnd.nextInt((int) ORIGIN_SECTORS - 8);
            byte[] data = filled(1 + rnd.nextInt(8), 100 + i % 100);
            assertTrue(write(m, sector, data).isOk());
            System.arraycopy(data, 0, view, sector * 512, data.length);
            if (i % 50 == 0) assertArrayEquals(view, read(m, 0, (int) ORIGIN_SECTORS), "the merging device shows the view at step " + i);
        }
        awaitMerged(m);
        assertArrayEquals(view, origin.contents(0, ORIGIN_SECTORS));
        assertArrayEquals(keeperView, read(keeper, 0, (int) ORIGIN_SECTORS), "another snapshot of the origin got its copy-outs first");
    }

    @Test
    void aMergeStartedFromTheStoreOnDiskNeedsNoLiveSnapshot() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = snapshotWithChanges(o);
        byte[] view = read(s, 0, (int) ORIGIN_SECTORS);
        remove(s);
        remove(o);
        MergeTarget m = rig.merge("/origin /cow P 0", ORIGIN_SECTORS);
        awaitMerged(m);
        assertArrayEquals(view, origin.contents(0, ORIGIN_SECTORS));
        assertEquals("/origin /cow P 8", m.status(StatusType.TABLE));
    }

    @Test
    void aMergeStopsAtSuspendAndGoesOnAtResume() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = snapshotWithChanges(o);
        byte[] view = read(s, 0, (int) ORIGIN_SECTORS);
        remove(s);
        remove(o);
        MergeTarget m = rig.merge("/origin /cow P 8", ORIGIN_SECTORS);
        m.presuspend(false);
        m.postsuspend();
        String paused = m.status(StatusType.INFO);
        m.preresume();
        m.resume();
        awaitMerged(m);
        assertArrayEquals(view, origin.contents(0, ORIGIN_SECTORS));
        assertNotEquals("", paused);
    }

    @Test
    void aCopyErrorStopsTheMergeWithMergeFailed() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        snapshotWithChanges(o).destroy();
        remove(o);
        cow.hold();
        MergeTarget m = rig.loadMerge("/origin /cow P 8", ORIGIN_SECTORS);
        cow.release();
        m.preresume();
        cow.failNext(1, org.ddmapper.api.Errno.EIO); // the first merge read from the COW
        m.resume();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (rig.events(m).stream().noneMatch(e -> e.kind() == EventKind.SNAPSHOT_MERGE_FAILED)) { // raised just after the status changes
            assertTrue(System.nanoTime() < deadline, m.status(StatusType.INFO));
            Thread.onSpinWait();
        }
        assertEquals("Merge failed", m.status(StatusType.INFO));
        EventPayload failed = rig.events(m).stream().filter(e -> e.kind() == EventKind.SNAPSHOT_MERGE_FAILED).findFirst().orElseThrow();
        assertEquals("io_error", failed.details().get("reason"));
        assertTrue(Long.parseLong(failed.details().get("chunks_left")) > 0);
        long firstEntry = ByteBuffer.wrap(cow.contents(8, 1)).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
        assertTrue(firstEntry > 0, "the store still has its exceptions");
    }
}
