package org.ddmapper.api;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Consumer;

/**
 * One block I/O request: an operation over a range of 512-byte sectors, an optional data
 * buffer, flags, and an asynchronous completion that runs exactly once.
 *
 * <p>A request is immutable apart from its buffer's contents. A layer that remaps a request
 * makes a child with {@link #remap} (same buffer, completion forwarded to this one), or
 * {@link #slice} for a part of it, or {@link #withCompletion} to see the outcome first (how
 * multipath retries on another path). The buffer of a READ or WRITE spans exactly
 * {@code lengthSectors * 512} bytes from its position; children share it, never copy it.
 */
public final class Bio {
    /** Bytes in a sector, the unit of every address and length in a table or a request. */
    public static final int SECTOR_BYTES = 512;
    public static final int SECTOR_SHIFT = 9;

    /** Forced unit access: complete only once the data is durable. */
    public static final int FUA = 1;
    /** On WRITE_ZEROES: keep the range allocated (do not punch a hole). */
    public static final int NO_HOLE = 2;

    private static final AtomicIntegerFieldUpdater<Bio> DONE =
            AtomicIntegerFieldUpdater.newUpdater(Bio.class, "done");

    private final BioOp op;
    private final long sector;
    private final long lengthSectors;
    private final ByteBuffer data;
    private final int flags;
    private final Consumer<IoStatus> completion;
    private volatile int done;

    private Bio(BioOp op, long sector, long lengthSectors, ByteBuffer data, int flags, Consumer<IoStatus> completion) {
        if (sector < 0 || lengthSectors < 0) throw new IllegalArgumentException("negative sector or length");
        if (op.hasData()) {
            if (data == null || data.remaining() != lengthSectors * SECTOR_BYTES)
                throw new IllegalArgumentException(op + " needs a buffer of exactly " + lengthSectors * SECTOR_BYTES + " bytes");
        } else if (data != null) {
            throw new IllegalArgumentException(op + " carries no buffer");
        }
        this.op = op;
        this.sector = sector;
        this.lengthSectors = lengthSectors;
        this.data = data;
        this.flags = flags;
        this.completion = completion;
    }

    /** A request of any kind; prefer the named factories. */
    public static Bio of(BioOp op, long sector, long lengthSectors, ByteBuffer data, int flags, Consumer<IoStatus> completion) {
        return new Bio(op, sector, lengthSectors, data, flags, completion);
    }

    public static Bio read(long sector, ByteBuffer into, Consumer<IoStatus> completion) {
        return new Bio(BioOp.READ, sector, into.remaining() >> SECTOR_SHIFT, into, 0, completion);
    }

    public static Bio write(long sector, ByteBuffer from, int flags, Consumer<IoStatus> completion) {
        return new Bio(BioOp.WRITE, sector, from.remaining() >> SECTOR_SHIFT, from, flags, completion);
    }

    public static Bio flush(Consumer<IoStatus> completion) {
        return new Bio(BioOp.FLUSH, 0, 0, null, 0, completion);
    }

    public static Bio discard(long sector, long lengthSectors, Consumer<IoStatus> completion) {
        return new Bio(BioOp.DISCARD, sector, lengthSectors, null, 0, completion);
    }

    public static Bio writeZeroes(long sector, long lengthSectors, int flags, Consumer<IoStatus> completion) {
        return new Bio(BioOp.WRITE_ZEROES, sector, lengthSectors, null, flags, completion);
    }

    public BioOp op() { return op; }

    public long sector() { return sector; }

    public long lengthSectors() { return lengthSectors; }

    public long lengthBytes() { return lengthSectors << SECTOR_SHIFT; }

    /** The first sector after this request's range. */
    public long endSector() { return sector + lengthSectors; }

    /** The request's buffer (null unless READ or WRITE); a fresh view each call, so positions never leak between users. */
    public ByteBuffer data() { return data == null ? null : data.duplicate(); }

    public int flags() { return flags; }

    public boolean isFua() { return (flags & FUA) != 0; }

    /** The same request at another sector (a remapping layer's child); its completion completes this one. */
    public Bio remap(long newSector) {
        return new Bio(op, newSector, lengthSectors, data, flags, this::complete);
    }

    /**
     * The part of this request from {@code offsetSectors} for {@code lengthSectors}, placed at
     * {@code newSector}, completing through {@code completion} (the caller aggregates the parts).
     */
    public Bio slice(long offsetSectors, long lengthSectors, long newSector, Consumer<IoStatus> completion) {
        if (offsetSectors < 0 || lengthSectors < 0 || offsetSectors + lengthSectors > this.lengthSectors)
            throw new IllegalArgumentException("slice outside the request");
        ByteBuffer part = null;
        if (data != null) {
            part = data.duplicate();
            int from = part.position() + (int) (offsetSectors << SECTOR_SHIFT);
            part.position(from).limit(from + (int) (lengthSectors << SECTOR_SHIFT));
            part = part.slice();
        }
        return new Bio(op, newSector, lengthSectors, part, flags, completion);
    }

    /** The same request, its outcome going to {@code completion} instead (which must eventually complete this one). */
    public Bio withCompletion(Consumer<IoStatus> completion) {
        return new Bio(op, sector, lengthSectors, data, flags, completion);
    }

    /** The same request with other flags (e.g. FUA stripped after a separate flush). */
    public Bio withFlags(int newFlags) {
        return new Bio(op, sector, lengthSectors, data, newFlags, this::complete);
    }

    /** Ends the request. Only the first call counts; later calls are ignored and return false. */
    public boolean complete(IoStatus status) {
        if (!DONE.compareAndSet(this, 0, 1)) return false;
        completion.accept(status);
        return true;
    }

    /** Ends the request with an error. */
    public boolean fail(Errno errno, String message) {
        return complete(IoStatus.error(errno, message));
    }

    public boolean isDone() { return done != 0; }

    @Override
    public String toString() {
        return op + " " + sector + "+" + lengthSectors + (isFua() ? " fua" : "");
    }
}
