package org.ddmapper.nbd.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct, page-aligned data buffers in power-of-two size classes from 4 KiB to 32 MiB, kept for
 * reuse up to one byte budget shared by all classes. Direct because sockets and file channels
 * read and write them without a copy; pooled because allocating direct memory is slow and freeing
 * it waits for a GC — a pool that kept fewer buffers than a workload has in flight would allocate
 * (and leave for the GC) one buffer per request.
 */
public final class BufferPool {
    private static final int MIN_SHIFT = 12;
    private static final int MAX_SHIFT = 25;
    private static final int ALIGN_BYTES = 4096;

    /** The pool every NBD connection and client in this bundle shares. */
    public static final BufferPool SHARED = new BufferPool(64L << 20);

    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final long keepBytes;
    private final AtomicLong freeBytes = new AtomicLong();
    private final AtomicLong allocatedBytes = new AtomicLong();

    /** A pool keeping at most about {@code keepBytes} of free buffers. */
    @SuppressWarnings("unchecked")
    public BufferPool(long keepBytes) {
        int classes = MAX_SHIFT - MIN_SHIFT + 1;
        free = new ConcurrentLinkedQueue[classes];
        for (int i = 0; i < classes; i++) free[i] = new ConcurrentLinkedQueue<>();
        this.keepBytes = keepBytes;
    }

    /** The largest buffer this pool hands out. */
    public static int maxBytes() {
        return 1 << MAX_SHIFT;
    }

    /**
     * A buffer with position 0 and limit {@code bytes}; give it back with {@link #release}. Above
     * {@link #maxBytes()} (the covering blocks of a maximum-size request at a byte offset) it is
     * allocated for the caller alone and left to the GC when given back.
     */
    public ByteBuffer acquire(int bytes) {
        if (bytes < 0) throw new IllegalArgumentException("buffer of " + bytes + " bytes");
        if (bytes > maxBytes()) return ByteBuffer.allocateDirect(bytes + ALIGN_BYTES).alignedSlice(ALIGN_BYTES).limit(bytes).slice();
        int cls = sizeClass(bytes);
        ByteBuffer b = free[cls].poll();
        if (b != null) {
            freeBytes.addAndGet(-b.capacity());
        } else {
            int capacity = 1 << (cls + MIN_SHIFT);
            b = ByteBuffer.allocateDirect(capacity + ALIGN_BYTES).alignedSlice(ALIGN_BYTES);
            b = b.limit(capacity).slice();
            allocatedBytes.addAndGet(capacity);
        }
        b.clear().limit(bytes);
        return b;
    }

    /** Takes a buffer from {@link #acquire} back (null is ignored). The caller must not touch it afterwards. */
    public void release(ByteBuffer b) {
        if (b == null) return;
        int capacity = b.capacity();
        int cls = Integer.numberOfTrailingZeros(capacity) - MIN_SHIFT;
        if (Integer.bitCount(capacity) != 1 || cls < 0 || cls >= free.length) return;
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
        return 32 - Integer.numberOfLeadingZeros(bytes - 1) - MIN_SHIFT;
    }
}
