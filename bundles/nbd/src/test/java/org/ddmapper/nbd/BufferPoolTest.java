package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.ddmapper.nbd.internal.BufferPool;
import org.junit.jupiter.api.Test;

/** The buffer pool: size classes, alignment, and reuse up to its byte budget. */
class BufferPoolTest {

    @Test
    void buffersAreDirectAlignedAndSizedToTheRequest() {
        BufferPool pool = new BufferPool(8 << 20);
        ByteBuffer b = pool.acquire(5000);
        assertTrue(b.isDirect());
        assertEquals(0, b.position());
        assertEquals(5000, b.limit());
        assertEquals(8192, b.capacity());
        assertEquals(0, b.alignmentOffset(0, 4096), "page aligned");
        pool.release(b);
        assertSame(b, pool.acquire(8000), "a released buffer is reused");
    }

    @Test
    void keepsAsManyBuffersAsTheBudgetAllowsSoAQueueDepthDoesNotChurn() {
        BufferPool pool = new BufferPool(32 << 20);
        List<ByteBuffer> inFlight = new ArrayList<>();
        for (int i = 0; i < 16; i++) inFlight.add(pool.acquire(1 << 20));
        assertEquals(16L << 20, pool.allocatedBytes());
        inFlight.forEach(pool::release);
        for (int round = 0; round < 10; round++) {
            List<ByteBuffer> again = new ArrayList<>();
            for (int i = 0; i < 16; i++) again.add(pool.acquire(1 << 20));
            again.forEach(pool::release);
        }
        assertEquals(16L << 20, pool.allocatedBytes(), "sixteen 1 MiB buffers in flight, reused, none allocated again");
        List<ByteBuffer> more = new ArrayList<>();
        for (int i = 0; i < 48; i++) more.add(pool.acquire(1 << 20));
        more.forEach(pool::release);
        assertEquals(32L << 20, pool.allocatedBytes(), "beyond the 32 MiB budget, released buffers are dropped");
    }

    @Test
    void buffersAboveTheLargestClassHaveExactlyTheSizeAskedForAndUpTo64KiBMoreArePooled() {
        BufferPool pool = new BufferPool(128 << 20);
        int max = BufferPool.maxBytes();
        assertEquals(max + 64 * 1024, BufferPool.maxPooledBytes());
        // The covering blocks of a maximum-size request at a byte offset: + 512 for a READ, + 1536 for a read-modify-write.
        for (int extra : new int[] {1, 512, 1536, 4095, 4096, 4097, 8191, 64 * 1024, 64 * 1024 + 1, 3 << 20}) {
            ByteBuffer b = pool.acquire(max + extra);
            assertTrue(b.isDirect());
            assertEquals(0, b.position());
            assertEquals(max + extra, b.limit(), "limit for +" + extra);
            assertTrue(b.capacity() >= max + extra, "capacity for +" + extra);
            assertEquals(0, b.alignmentOffset(0, 4096), "page aligned for +" + extra);
            b.put(b.limit() - 1, (byte) 1); // the last byte is there
            pool.release(b);
            if (extra <= 64 * 1024) {
                assertEquals(BufferPool.maxPooledBytes(), pool.allocatedBytes(), "one pooled buffer of the top class, +" + extra);
                assertSame(b, pool.acquire(max + 1), "and it is reused, +" + extra);
                pool.release(b);
            } else {
                assertEquals(max + extra, b.capacity(), "allocated for the caller alone, +" + extra);
            }
        }
        assertEquals(BufferPool.maxPooledBytes(), pool.allocatedBytes(), "buffers above the top class are not kept");
    }
}
