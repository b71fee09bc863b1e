package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.nbd.internal.MemoryBudget;
import org.junit.jupiter.api.Test;

/** The server-wide budget's rules: a quarter kept for small requests, large ones in order, no starvation either way. */
class MemoryBudgetTest {
    static final long MIB = 1 << 20;

    /** A waiter that counts its wake-ups. */
    static final class Waiter implements Runnable {
        final AtomicInteger woken = new AtomicInteger();

        @Override
        public void run() {
            woken.incrementAndGet();
        }
    }

    @Test
    void largeRequestsLeaveAQuarterForSmallOnes() {
        MemoryBudget b = new MemoryBudget(128 * MIB);
        Waiter w1 = new Waiter(), w2 = new Waiter(), w3 = new Waiter(), w4 = new Waiter(), small = new Waiter();
        assertTrue(b.tryAcquire(32 * MIB, w1));
        assertTrue(b.tryAcquire(32 * MIB, w2));
        assertTrue(b.tryAcquire(32 * MIB, w3));
        assertFalse(b.tryAcquire(32 * MIB, w4), "96 MiB of large requests is the most: a quarter stays for small ones");
        for (int i = 0; i < 32; i++) assertTrue(b.tryAcquire(MIB, small), "small request " + i);
        assertFalse(b.tryAcquire(MIB, small), "the whole budget is spent");
        assertEquals(128 * MIB, b.maxUsedBytes());
        b.release(MIB);
        assertEquals(1, small.woken.get(), "a small waiter is woken when bytes come back");
        assertTrue(b.tryAcquire(MIB, small));
    }

    @Test
    void largeRequestsAreGrantedInArrivalOrder() {
        MemoryBudget b = new MemoryBudget(64 * MIB);
        Waiter holder = new Waiter(), first = new Waiter(), second = new Waiter();
        assertTrue(b.tryAcquire(32 * MIB, holder));
        assertFalse(b.tryAcquire(32 * MIB, first));
        assertFalse(b.tryAcquire(8 * MIB, second), "would fit, but an earlier large request waits");
        b.release(32 * MIB);
        assertEquals(1, first.woken.get(), "the first in line is woken");
        assertFalse(b.tryAcquire(8 * MIB, second), "still not its turn");
        assertTrue(b.tryAcquire(32 * MIB, first));
        assertEquals(1, second.woken.get(), "then the next is woken");
        assertTrue(b.tryAcquire(8 * MIB, second));
    }

    @Test
    void whileALargeRequestWaitsSmallOnesKeepToTheReserve() {
        MemoryBudget b = new MemoryBudget(64 * MIB);
        Waiter large = new Waiter(), holder = new Waiter(), small = new Waiter();
        assertTrue(b.tryAcquire(40 * MIB, holder));
        assertFalse(b.tryAcquire(32 * MIB, large));
        for (int i = 0; i < 16; i++) assertTrue(b.tryAcquire(MIB, small), "within the 16 MiB reserve: " + i);
        assertFalse(b.tryAcquire(MIB, small), "past the reserve while a large request waits");
        assertTrue(b.othersWait(large), "the small one waits besides the large one");
        b.release(40 * MIB);
        assertTrue(b.tryAcquire(32 * MIB, large), "the large request gets its turn");
        assertTrue(small.woken.get() > 0, "small waiters are woken once no large one waits");
        assertTrue(b.tryAcquire(MIB, small));
    }

    @Test
    void aRequestLargerThanTheBudgetRunsAlone() {
        MemoryBudget b = new MemoryBudget(16 * MIB);
        Waiter big = new Waiter(), small = new Waiter();
        assertTrue(b.tryAcquire(32 * MIB, big), "nothing else held: it may run");
        assertFalse(b.tryAcquire(4096, small));
        b.release(32 * MIB);
        assertTrue(b.tryAcquire(4096, small));
        assertFalse(b.tryAcquire(32 * MIB, big), "not while anything else is held");
        b.cancel(big);
        assertFalse(b.othersWait(small), "a cancelled waiter no longer counts");
    }

    @Test
    void whileOthersWaitABusyConnectionKeepsToHalf() {
        MemoryBudget b = new MemoryBudget(64 * MIB);
        Waiter busy = new Waiter(), other = new Waiter();
        long held = 0;
        for (int i = 0; i < 64; i++) {
            assertTrue(b.tryAcquire(MIB, held, busy), "nobody else wants bytes: all of it, " + i);
            held += MIB;
        }
        assertFalse(b.tryAcquire(MIB, 0, other), "spent");
        b.release(MIB);
        held -= MIB;
        assertFalse(b.tryAcquire(MIB, held, busy), "another connection waits: the busy one keeps to half");
        assertTrue(b.tryAcquire(MIB, 0, other), "the waiting one gets the byte given back");
        for (int i = 0; i < 32; i++) {
            b.release(MIB);
            held -= MIB;
        }
        assertFalse(b.othersWait(busy), "nobody else waits now");
        assertTrue(b.tryAcquire(MIB, held, busy), "below half again");
    }
}
