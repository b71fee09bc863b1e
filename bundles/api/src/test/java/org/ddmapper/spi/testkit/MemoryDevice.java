package org.ddmapper.spi.testkit;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Extent;
import org.ddmapper.api.ExtentList;
import org.ddmapper.api.IoStatus;

/**
 * A scripted in-memory block device for unit tests of targets and checkers: records every request
 * it is given; can fail the next N requests ("fail twice, then succeed") or every one; can hold the
 * next request, or all of them, until released (a hung path; a parent request that waits for all
 * its parts); answers allocation queries from sectors scripted as holes ({@link #holes}). Several
 * devices can share one storage ({@link #MemoryDevice(String, byte[])}): paths to the same disk.
 */
public final class MemoryDevice implements BlockDevice {

    /** A request as the device saw it. */
    public record Request(BioOp op, long sector, long lengthSectors, int flags) {
        public boolean isFua() { return (flags & Bio.FUA) != 0; }
    }

    private final String reference;
    private final byte[] bytes;
    private final List<Request> requests = new ArrayList<>();
    private final Deque<Errno> failures = new ArrayDeque<>();
    private Errno failAlways;
    private final List<Bio> held = new ArrayList<>();
    private boolean holding;
    private int holdNext;
    private boolean closed;
    private volatile int logicalBlockBytes = Bio.SECTOR_BYTES;
    /** Sectors that allocation queries report as holes (guarded by this). */
    private final BitSet holes = new BitSet();

    public MemoryDevice(String reference, long sizeSectors) {
        this(reference, new byte[Math.toIntExact(sizeSectors * Bio.SECTOR_BYTES)]);
    }

    /** A device over {@code storage} (its length a whole number of sectors), which other devices may share. */
    public MemoryDevice(String reference, byte[] storage) {
        this.reference = reference;
        this.bytes = storage;
    }

    @Override
    public String reference() { return reference; }

    @Override
    public long sizeSectors() { return bytes.length / Bio.SECTOR_BYTES; }

    @Override
    public int logicalBlockBytes() { return logicalBlockBytes; }

    /** Makes the device announce a larger logical block (e.g. 4096). */
    public MemoryDevice logicalBlockBytes(int bytes) {
        logicalBlockBytes = bytes;
        return this;
    }

    /** The next {@code count} requests fail with {@code errno}. */
    public synchronized MemoryDevice failNext(int count, Errno errno) {
        for (int i = 0; i < count; i++) failures.add(errno);
        return this;
    }

    /** From now on every request fails with {@code errno} (after the scripted {@link #failNext} ones); null: none does. */
    public synchronized MemoryDevice failAlways(Errno errno) {
        failAlways = errno;
        return this;
    }

    /** From now on requests are kept, not carried out, until {@link #release()}. */
    public synchronized MemoryDevice hold() {
        holding = true;
        return this;
    }

    /** The next request is kept, not carried out, until {@link #release()} (a path that hangs once). */
    public synchronized MemoryDevice holdNext() {
        holdNext++;
        return this;
    }

    /** How many requests are held now. */
    public synchronized int heldCount() { return held.size(); }

    /** The requests held now, oldest first. */
    public synchronized List<Bio> held() { return List.copyOf(held); }

    /** Carries out every held request (a closed device fails them) and stops holding. */
    public void release() {
        List<Bio> now;
        synchronized (this) {
            holding = false;
            holdNext = 0;
            now = new ArrayList<>(held);
            held.clear();
        }
        now.forEach(this::serve);
    }

    /** Makes allocation queries report {@code [sector, +lengthSectors)} as a hole (the contents are not changed). */
    public synchronized MemoryDevice holes(long sector, long lengthSectors) {
        holes.set(Math.toIntExact(sector), Math.toIntExact(sector + lengthSectors));
        return this;
    }

    /** The scripted holes as runs, as a real device answers (at most ExtentList.MAX_RUNS). */
    @Override
    public synchronized List<Extent> allocation(long startSector, long lengthSectors) {
        if (startSector + lengthSectors > sizeSectors()) throw new DmException(Errno.EINVAL, reference + ": beyond the end");
        ExtentList out = new ExtentList(startSector, lengthSectors);
        for (int s = (int) startSector; s < startSector + lengthSectors; s++)
            if (!out.add(1, holes.get(s) ? Extent.Kind.HOLE : Extent.Kind.DATA)) break;
        return out.toList();
    }

    @Override
    public void submit(Bio bio) {
        synchronized (this) {
            requests.add(new Request(bio.op(), bio.sector(), bio.lengthSectors(), bio.flags()));
            if (holding || holdNext > 0) {
                if (holdNext > 0) holdNext--;
                held.add(bio);
                return;
            }
        }
        serve(bio);
    }

    private void serve(Bio bio) {
        Errno failure;
        synchronized (this) {
            if (closed) {
                bio.fail(Errno.ENODEV, reference + ": closed");
                return;
            }
            failure = failures.poll();
            if (failure == null) failure = failAlways;
        }
        if (failure != null) {
            bio.fail(failure, "scripted");
            return;
        }
        if (bio.endSector() > sizeSectors()) {
            bio.fail(bio.op().isWrite() ? Errno.ENOSPC : Errno.EINVAL, reference + ": beyond the end");
            return;
        }
        int at = (int) (bio.sector() * Bio.SECTOR_BYTES);
        int length = (int) bio.lengthBytes();
        synchronized (bytes) {
            switch (bio.op()) {
                case READ -> bio.data().put(bytes, at, length);
                case WRITE -> bio.data().get(bytes, at, length);
                case DISCARD, WRITE_ZEROES -> Arrays.fill(bytes, at, at + length, (byte) 0);
                case FLUSH -> { }
            }
        }
        bio.complete(IoStatus.OK);
    }

    /** Every request seen so far, in order. */
    public synchronized List<Request> requests() { return List.copyOf(requests); }

    /** The requests seen of one kind. */
    public synchronized List<Request> requests(BioOp op) {
        return requests.stream().filter(r -> r.op() == op).toList();
    }

    /** A copy of the device's contents in a range. */
    public byte[] contents(long sector, long lengthSectors) {
        synchronized (bytes) {
            int at = (int) (sector * Bio.SECTOR_BYTES);
            return Arrays.copyOfRange(bytes, at, at + (int) (lengthSectors * Bio.SECTOR_BYTES));
        }
    }

    /** Sets the device's contents at a sector without going through a request. */
    public void store(long sector, byte[] data) {
        synchronized (bytes) {
            System.arraycopy(data, 0, bytes, (int) (sector * Bio.SECTOR_BYTES), data.length);
        }
    }

    /** Reads the device's contents into a new buffer. */
    public ByteBuffer buffer(long sector, long lengthSectors) {
        return ByteBuffer.wrap(contents(sector, lengthSectors));
    }

    @Override
    public synchronized void close() { closed = true; }

    public synchronized boolean isClosed() { return closed; }
}
