package org.ddmapper.targets.snapshot.internal;

import static org.ddmapper.targets.snapshot.internal.Rig.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.targets.snapshot.internal.store.DiskHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The snapshot and snapshot-origin targets over in-memory devices: copy-out, the store on disk, failure, status. */
class SnapshotTargetTest {
    static final long ORIGIN_SECTORS = 2048; // 1 MiB
    final Rig rig = new Rig();
    final MemoryDevice origin = rig.randomDevice("/origin", ORIGIN_SECTORS, 1);
    final MemoryDevice cow = rig.device("/cow", 512); // 256 KiB
    final byte[] before = origin.contents(0, ORIGIN_SECTORS);

    @AfterEach
    void close() { rig.close(); }

    private byte[] old(long sector, int sectors) {
        return Arrays.copyOfRange(before, (int) sector * 512, (int) (sector + sectors) * 512);
    }

    private static long le64(byte[] b, int at) { return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(at); }

    @Test
    void aFirstOriginWriteCopiesTheWholeChunkOutFirstAndTheStoreLooksAsTheKernelsDoes() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = rig.snapshot("/origin /cow P 8", ORIGIN_SECTORS);
        assertEquals("16/512 16", s.status(StatusType.INFO), "fresh: header and area 0 allocated");

        assertTrue(write(o, 21, filled(1, 0xab)).isOk(), "one sector in chunk 2 (sectors 16..23)");
        assertArrayEquals(filled(1, 0xab), read(o, 21, 1));
        assertArrayEquals(old(16, 8), read(s, 16, 8), "the snapshot still shows the whole old chunk");
        assertArrayEquals(old(0, 64), read(s, 0, 64));
        assertEquals("24/512 16", s.status(StatusType.INFO), "one data chunk more");

        byte[] c = cow.contents(0, 512);
        DiskHeader h = DiskHeader.read(ByteBuffer.wrap(c));
        assertEquals(DiskHeader.of(8, true), h, "SnAp, valid, version 1, chunk 8");
        assertEquals(2, le64(c, 8 * 512), "area 0 (chunk 1), entry 0: old chunk 2");
        assertEquals(2, le64(c, 8 * 512 + 8), "... new chunk 2, the first data chunk");
        assertEquals(0, le64(c, 8 * 512 + 24), "then the terminator");
        assertArrayEquals(old(16, 8), cow.contents(16, 8), "data chunk 2 holds the old origin chunk");

        assertTrue(write(o, 16, filled(8, 0xcd)).isOk(), "a rewrite of a copied chunk copies nothing");
        assertEquals("24/512 16", s.status(StatusType.INFO));
        assertArrayEquals(old(16, 8), read(s, 16, 8));
    }

    @Test
    void anOriginWriteIsNotAcknowledgedBeforeItsCopyOutIsCommitted() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        rig.snapshot("/origin /cow P 8", ORIGIN_SECTORS);
        cow.hold();
        Completion w = writeAsync(o, 100, filled(2, 1));
        assertFalse(w.isDone(), "waits for the copy to the COW");
        assertArrayEquals(old(100, 2), origin.contents(100, 2), "the origin is not written before the copy-out");
        cow.release();
        assertTrue(w.get().isOk());
        assertArrayEquals(filled(2, 1), origin.contents(100, 2));
        var cowRequests = cow.requests();
        int flushAt = -1;
        int areaAt = -1;
        for (int i = 0; i < cowRequests.size(); i++) {
            var r = cowRequests.get(i);
            if (r.op() == BioOp.FLUSH && flushAt < 0 && i > 2) flushAt = i;
            if (r.op() == BioOp.WRITE && r.sector() == 8 && r.isFua() && i > 2) areaAt = i;
        }
        assertTrue(flushAt > 0 && areaAt > flushAt, "data flushed, then the area written with FUA: " + cowRequests);
    }

    @Test
    void snapshotWritesLiveInTheCowAndAWholeChunkWriteNeedsNoCopy() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = rig.snapshot("/origin /cow P 8", ORIGIN_SECTORS);
        int originReads = origin.requests(BioOp.READ).size();
        assertTrue(write(s, 8, filled(8, 0x11)).isOk());
        assertEquals(originReads, origin.requests(BioOp.READ).size(), "a whole-chunk write to the snapshot reads nothing from the origin");
        assertTrue(write(s, 33, filled(2, 0x22)).isOk(), "a partial chunk: copied first");
        byte[] expected = old(32, 8);
        System.arraycopy(filled(2, 0x22), 0, expected, 512, 1024);
        assertArrayEquals(expected, read(s, 32, 8));
        assertArrayEquals(filled(8, 0x11), read(s, 8, 8));
        assertArrayEquals(old(0, 64), origin.contents(0, 64), "the origin is untouched");
        assertArrayEquals(old(0, 64), read(o, 0, 64));
        assertTrue(flush(s).isOk());
        assertEquals(1, cow.requests(BioOp.FLUSH).stream().count() - 2, "the snapshot's flush went to the COW");
    }

    @Test
    void everySnapshotOfAnOriginGetsItsCopyAndTheOriginIsReadOnce() {
        MemoryDevice cow2 = rig.device("/cow2", 512);
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget a = rig.snapshot("/origin /cow P 8", ORIGIN_SECTORS);
        SnapshotTarget b = rig.snapshot("/origin /cow2 P 8", ORIGIN_SECTORS);
        int reads = origin.requests(BioOp.READ).size();
        assertTrue(write(o, 64, filled(16, 7)).isOk(), "two chunks");
        assertEquals(reads + 1, origin.requests(BioOp.READ).size(), "one read of the origin for both chunks and both snapshots");
        assertArrayEquals(old(64, 16), read(a, 64, 16));
        assertArrayEquals(old(64, 16), read(b, 64, 16));
        assertArrayEquals(old(64, 16), cow2.contents(16, 16));
        assertTrue(write(o, 80, filled(8, 9)).isOk());
        rig.device("/cow3", 512);
        SnapshotTarget c = rig.snapshot("/origin /cow3 N 16", ORIGIN_SECTORS);
        assertNotNull(c);
        assertArrayEquals(filled(8, 9), read(c, 80, 8), "a snapshot taken later sees the origin as it is then");
    }

    @Test
    void aFullCowInvalidatesThePersistentSnapshotOnDiskAndTheOriginGoesOn() {
        MemoryDevice small = rig.device("/small", 32); // 4 chunks of 8: header, area 0, two data chunks
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = rig.snapshot("/origin /small P 8", ORIGIN_SECTORS);
        assertTrue(write(o, 0, filled(16, 1)).isOk());
        assertEquals("32/32 16", s.status(StatusType.INFO));
        assertTrue(write(o, 16, filled(8, 2)).isOk(), "the origin keeps working");
        assertArrayEquals(filled(8, 2), read(o, 16, 8));
        assertEquals("Invalid", s.status(StatusType.INFO));
        assertEquals(Errno.EIO, readStatus(s, 0, new byte[512]).errno(), "an invalid snapshot fails reads");
        assertEquals(Errno.EIO, write(s, 0, filled(1, 0)).errno());
        var events = rig.events(s);
        assertEquals(1, events.size(), events.toString());
        assertEquals(EventKind.SNAPSHOT_INVALID, events.get(0).kind());
        assertEquals("overflow", events.get(0).details().get("reason"));
        assertFalse(DiskHeader.read(ByteBuffer.wrap(small.contents(0, 1))).isValid(), "the valid flag is cleared on disk");

        remove(s);
        SnapshotTarget again = rig.snapshot("/origin /small P 8", ORIGIN_SECTORS);
        assertEquals("Invalid", again.status(StatusType.INFO), "an invalid store reactivates as invalid");
    }

    @Test
    void withPoASnapshotWriteToAFullCowOverflowsInMemoryOnly() {
        MemoryDevice small = rig.device("/small", 32);
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = rig.snapshot("/origin /small PO 8", ORIGIN_SECTORS);
        assertTrue(write(s, 0, filled(16, 3)).isOk(), "two chunks: the COW is full");
        assertEquals(Errno.EIO, write(s, 64, filled(1, 4)).errno());
        assertEquals("Overflow", s.status(StatusType.INFO));
        assertArrayEquals(filled(16, 3), read(s, 0, 16), "reads still work");
        assertArrayEquals(old(64, 8), read(s, 64, 8));
        assertEquals(Errno.EIO, write(s, 0, filled(1, 5)).errno(), "every write fails once overflowed, as in the kernel");
        var events = rig.events(s);
        assertEquals(EventKind.SNAPSHOT_OVERFLOW, events.get(events.size() - 1).kind());
        assertEquals("32", events.get(events.size() - 1).details().get("allocated"));
        assertTrue(DiskHeader.read(ByteBuffer.wrap(small.contents(0, 1))).isValid(), "overflow is not written to disk");
        assertTrue(write(o, 128, filled(1, 6)).isOk());
    }

    @Test
    void aFailedCopyInvalidatesWithIoErrorAndAFailedMetadataWriteWithMetadataError() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = rig.snapshot("/origin /cow P 8", ORIGIN_SECTORS);
        cow.failNext(1, Errno.EIO); // the copy's write
        assertTrue(write(o, 0, filled(1, 1)).isOk(), "the origin write goes on");
        assertEquals("Invalid", s.status(StatusType.INFO));
        assertEquals("io_error", rig.events(s).get(0).details().get("reason"));

        FlushFailing cow2 = rig.add(new FlushFailing(new MemoryDevice("/cow2", 512)));
        SnapshotTarget t = rig.snapshot("/origin /cow2 P 8", ORIGIN_SECTORS);
        cow2.failFlushes = true; // the copy's write succeeds, the flush before the area write fails
        assertTrue(write(o, 512, filled(1, 2)).isOk());
        assertEquals("Invalid", t.status(StatusType.INFO));
        assertEquals("metadata_error", rig.events(t).get(0).details().get("reason"));
    }

    /** A device whose flushes fail on demand. */
    static final class FlushFailing implements org.ddmapper.api.BlockDevice {
        final MemoryDevice inner;
        volatile boolean failFlushes;

        FlushFailing(MemoryDevice inner) { this.inner = inner; }

        @Override public String reference() { return inner.reference(); }

        @Override public long sizeSectors() { return inner.sizeSectors(); }

        @Override
        public void submit(org.ddmapper.api.Bio bio) {
            if (failFlushes && bio.op() == BioOp.FLUSH) bio.fail(Errno.EIO, "flush failed");
            else inner.submit(bio);
        }

        @Override public void close() { inner.close(); }
    }

    @Test
    void aStoreWrittenOnceIsReadBackTheSameWhenActivatedAgain() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget s = rig.snapshot("/origin /cow P 8", ORIGIN_SECTORS);
        for (int i = 0; i < 20; i++) assertTrue(write(o, i * 37L, filled(3, i)).isOk());
        assertTrue(write(s, 700, filled(5, 0x5a)).isOk());
        byte[] view = read(s, 0, (int) ORIGIN_SECTORS);
        String status = s.status(StatusType.INFO);
        remove(s);
        SnapshotTarget again = rig.snapshot("/origin /cow P 0", ORIGIN_SECTORS);
        assertArrayEquals(view, read(again, 0, (int) ORIGIN_SECTORS));
        assertEquals(status, again.status(StatusType.INFO));
        assertEquals("/origin /cow P 8", again.status(StatusType.TABLE), "the store's chunk size, not the table's 0");
        assertNotNull(o);
    }

    @Test
    void tableErrorsCarryTheKernelsWords() {
        rig.device("/tiny", 100);
        assertRefused("/origin /cow P", "snapshot: requires 4 or more arguments");
        assertRefused("/origin /cow P 24", "snapshot: Couldn't create exception store: Chunk size is not a power of 2 (24 sectors; blocks of 512 bytes)");
        assertRefused("/origin /cow X 16", "snapshot: Couldn't create exception store: Exception store type is not P or N ('X')");
        assertRefused("/origin /cow PX 16", "snapshot: Couldn't create exception store: Unsupported persistent store option: X");
        assertRefused("/origin /cow P 1x", "snapshot: Couldn't create exception store: Invalid chunk size ('1x')");
        assertRefused("/origin /cow P 16 1 foo", "snapshot: Unrecognised feature requested: 'foo'");
        assertRefused("/origin /cow P 16 1 discard_passdown_origin", "snapshot: discard_passdown_origin feature depends on discard_zeroes_cow");
        assertRefused("/origin /cow P 16 3 discard_zeroes_cow a b", "snapshot: Invalid number of feature arguments ('3', at most 2)");
        assertRefused("/origin /cow P 16 2 discard_zeroes_cow", "snapshot: Insufficient arguments: 2 features announced, 1 given");
        assertRefused("/origin /origin P 16", "snapshot: COW device cannot be the same as origin device");
        assertRefused("/origin /cow N 0", "snapshot: Chunk size not set (a transient store needs one; 0 only picks the size of an existing persistent store)");
        assertRefused("/tiny /cow P 16", "snapshot: origin device '/tiny' too small: the target ends at sector 2048, the device has 100 sectors");
        assertRefused("/origin /cow P 16 1 discard_zeroes_cow extra", "snapshot: too many arguments: unexpected 'extra'");
        var c = rig.context(ORIGIN_SECTORS);
        DmException e = assertThrows(DmException.class, () -> new OriginTarget(c, c.args("snapshot-origin", "/origin /cow"), rig.registry));
        assertEquals("snapshot-origin: origin: incorrect number of arguments (expected 1, the origin device; got 2)", e.getMessage());
        assertEquals(0, rig.registry.size(), "a refused table leaves nothing registered");
    }

    private void assertRefused(String words, String message) {
        DmException e = assertThrows(DmException.class, () -> rig.loadSnapshot(words, ORIGIN_SECTORS), words);
        assertEquals(message, e.getMessage());
        assertEquals(Errno.EINVAL, e.errno());
    }

    @Test
    void tableTextIsCanonical() {
        rig.device("/cow2", 512);
        rig.origin("/origin", ORIGIN_SECTORS);
        assertEquals("/origin /cow PO 16 2 discard_zeroes_cow discard_passdown_origin",
                rig.loadSnapshot("/origin /cow po 16 2 DISCARD_PASSDOWN_ORIGIN discard_zeroes_cow", ORIGIN_SECTORS).status(StatusType.TABLE));
        assertEquals("Unknown", rig.loadSnapshot("/origin /cow2 N 8", ORIGIN_SECTORS).status(StatusType.INFO), "before resume nothing is read");
    }

    @Test
    void aSecondTableOfOneCowTakesTheExceptionsOverOnceTheFirstIsSuspended() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget first = rig.snapshot("/origin /cow N 8", ORIGIN_SECTORS);
        assertTrue(write(o, 0, filled(8, 1)).isOk());
        assertTrue(write(first, 8, filled(8, 2)).isOk());
        SnapshotTarget second = rig.loadSnapshot("/origin /cow N 8", ORIGIN_SECTORS);
        DmException e = assertThrows(DmException.class, second::preresume);
        assertTrue(e.getMessage().startsWith("Unable to perform snapshot handover until source is suspended."), e.getMessage());
        DmException third = assertThrows(DmException.class, () -> rig.loadSnapshot("/origin /cow N 8", ORIGIN_SECTORS));
        assertTrue(third.getMessage().contains("Snapshot cow pairing for exception table handover failed"), third.getMessage());
        first.presuspend(false);
        first.postsuspend();
        DmException back = assertThrows(DmException.class, first::preresume, "the source cannot resume while a successor waits");
        assertTrue(back.getMessage().startsWith("Unable to resume snapshot source until handover completes."));
        live(second);
        assertArrayEquals(old(0, 8), read(second, 0, 8), "the transient exceptions were handed over");
        assertArrayEquals(filled(8, 2), read(second, 8, 8));
        assertEquals(Errno.EIO, readStatus(first, 0, new byte[512]).errno(), "the old table takes no more I/O");
        first.destroy();
        assertTrue(write(o, 0, filled(8, 3)).isOk());
        assertArrayEquals(old(0, 8), read(second, 0, 8));
    }

    @Test
    void discardsAreIgnoredUnlessZeroesCowAndThenZeroOnlyRemappedChunks() {
        OriginTarget o = rig.origin("/origin", ORIGIN_SECTORS);
        SnapshotTarget plain = rig.snapshot("/origin /cow P 8", ORIGIN_SECTORS);
        Completion c = new Completion();
        plain.map(org.ddmapper.api.Bio.discard(0, 64, c));
        assertTrue(c.get().isOk());
        assertArrayEquals(old(0, 64), read(plain, 0, 64));

        MemoryDevice cow2 = rig.device("/cow2", 512);
        SnapshotTarget z = rig.snapshot("/origin /cow2 P 8 1 discard_zeroes_cow", ORIGIN_SECTORS);
        assertTrue(write(o, 8, filled(8, 9)).isOk(), "chunk 1 gets an exception in z");
        Completion d = new Completion();
        z.map(org.ddmapper.api.Bio.discard(0, 24, d));
        assertTrue(d.get().isOk());
        assertArrayEquals(new byte[8 * 512], read(z, 8, 8), "the remapped chunk reads zeros");
        assertArrayEquals(old(0, 8), read(z, 0, 8), "a chunk without an exception is left alone (no copy-out)");
        assertEquals(IoStatus.OK, d.get());
    }
}
