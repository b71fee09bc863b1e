package org.ddmapper.nbd.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct, page-aligned data buffers in power-of-two size classes from 4 KiB to 32 MiB, plus one
 * class of 32 MiB + 64 KiB for the covering blocks of a maximum-size request at a byte offset,
 * kept for reuse up to one byte budget shared by all classes. Direct because sockets and file
 * channels read and write them without a copy; pooled because allocating direct memory is slow
 * and freeing it waits for a GC — a pool that kept fewer buffers than a workload has in flight
 * would allocate (and leave for the GC) one buffer per request.
 */
public final class BufferPool {
    private static final int MIN_SHIFT = 12;
    private static final int MAX_SHIFT = 25;
    private static final int ALIGN_BYTES = 4096;
    /** The one class above 32 MiB: room for a maximum-size request plus the partial blocks around it. */
    private static final int OVERSIZE_BYTES = (1 << MAX_SHIFT) + 64 * 1024;
    private static final int OVERSIZE = MAX_SHIFT - MIN_SHIFT + 1;

    /** The pool every NBD connection and client in this bundle shares. */
    public static final BufferPool SHARED = new BufferPool(64L << 20);

    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final long keepBytes;
    private final AtomicLong freeBytes = new AtomicLong();
    private final AtomicLong allocatedBytes = new AtomicLong();

    /** A pool keeping at most about {@code keepBytes} of free buffers. */
    @SuppressWarnings("unchecked")
    public BufferPool(long keepBytes) {
        int classes = OVERSIZE + 1;
        free = new ConcurrentLinkedQueue[classes];
        for (int i = 0; i < classes; i++) free[i] = new ConcurrentLinkedQueue<>();
        this.keepBytes = keepBytes;
    }

    /** The largest power-of-two class. */
    public static int maxBytes() {
        return 1 << MAX_SHIFT;
    }

    /** The largest buffer this pool keeps; above it {@link #acquire} allocates for the caller alone. */
    public static int maxPooledBytes() {
        return OVERSIZE_BYTES;
    }

    /**
     * A buffer with position 0 and limit {@code bytes}; give it back with {@link #release}. Above
     * {@link #maxPooledBytes()} it is allocated for the caller alone and left to the GC when given
     * back.
     */
    public ByteBuffer acquire(int bytes) {
        if (bytes < 0) throw new IllegalArgumentException("buffer of " + bytes + " bytes");
        if (bytes > OVERSIZE_BYTES) return allocate(bytes);
        int cls = sizeClass(bytes);
        ByteBuffer b = free[cls].poll();
        if (b != null) {
            freeBytes.addAndGet(-b.capacity());
        } else {
            int capacity = cls == OVERSIZE ? OVERSIZE_BYTES : 1 << (cls + MIN_SHIFT);
            b = allocate(capacity);
            allocatedBytes.addAndGet(capacity);
        }
        b.clear().limit(bytes);
        return b;
    }

    /**
     * A new page-aligned buffer of exactly {@code bytes}. {@code alignedSlice} moves the start up
     * and the end down to page boundaries, so the allocation is the size rounded up to whole
     * pages plus one page of slack for the start.
     */
    private static ByteBuffer allocate(int bytes) {
        long pages = ((long) bytes + ALIGN_BYTES - 1) / ALIGN_BYTES;
        long allocate = (pages + 1) * ALIGN_BYTES;
        if (allocate > Integer.MAX_VALUE) throw new IllegalArgumentException("buffer of " + bytes + " bytes is too large");
        return ByteBuffer.allocateDirect((int) allocate).alignedSlice(ALIGN_BYTES).limit(bytes).slice();
    }

    /** Takes a buffer from {@link #acquire} back (null is ignored). The caller must not touch it afterwards. */
    public void release(ByteBuffer b) {
        if (b == null) return;
        int capacity = b.capacity();
        int cls = capacity == OVERSIZE_BYTES ? OVERSIZE : Integer.numberOfTrailingZeros(capacity) - MIN_SHIFT;
        if (cls != OVERSIZE && (Integer.bitCount(capacity) != 1 || cls < 0 || cls > MAX_SHIFT - MIN_SHIFT)) return;
        if (freeBytes.addAndGet(capacity) <= keepBytes) {
            free[cls].offer(b);
        } else {
            freeBytes.addAndGet(-capacity);
            allocatedBytes.addAndGet(-capacity);
        }
    }

    /** Bytes of buffers this pool allocated and has not dropped (in use plus kept free). */
    public long allocatedBytes() {
        return allocatedBytes.get();
    }

    private static int sizeClass(int bytes) {
        if (bytes <= 1 << MIN_SHIFT) return 0;
        if (bytes > 1 << MAX_SHIFT) return OVERSIZE;
        return 32 - Integer.numberOfLeadingZeros(bytes - 1) - MIN_SHIFT;
    }
}
