package org.ddmapper.nbd.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The data bytes (request payloads, read data waiting to go out) that all connections of one
 * server may hold at once. A connection that would go over it waits — it stops reading, which
 * pushes back on its client through TCP — and is woken when another connection gives bytes back;
 * nobody is dropped because someone else holds memory.
 *
 * <p>Fairness: large requests (above {@link #SMALL_BYTES}) may use the budget less a quarter kept
 * for small ones, so clients doing ordinary I/O are served while large requests wait (say, behind
 * clients that declared 32 MiB WRITEs and trickle their payload until the payload deadline drops
 * them). Large requests are granted in arrival order, so a stream of them cannot starve one; and
 * while one waits, small requests keep to the reserved quarter, so a stream of small ones cannot
 * starve it either. A request larger than the budget allowed to it runs alone. And while others
 * wait, a connection that already holds bytes may not go past half the budget, so one busy
 * connection cannot keep the rest waiting.
 *
 * <p>Waiters are identified by their wake-up action (a connection's {@code Transport::wakeup}),
 * called without the lock held when bytes come back.
 */
public final class MemoryBudget {
    /** Requests up to this size are small. */
    public static final long SMALL_BYTES = 1 << 20;

    private final long capacity;
    private final long reserve;
    // Guarded by this.
    private long used;
    private long usedSmall;
    private long maxUsed;
    private final ArrayDeque<Runnable> largeWaiters = new ArrayDeque<>();
    private final Set<Runnable> smallWaiters = new LinkedHashSet<>();

    public MemoryBudget(long capacityBytes) {
        this.capacity = capacityBytes;
        this.reserve = capacityBytes / 4;
    }

    /** {@link #tryAcquire(long, long, Runnable)} for a caller holding nothing yet. */
    public boolean tryAcquire(long bytes, Runnable waiter) {
        return tryAcquire(bytes, 0, waiter);
    }

    /**
     * Takes {@code bytes} for a connection that holds {@code heldBytes} already, when the rules
     * allow it now; otherwise registers {@code waiter} to be called when it may be worth trying
     * again, and returns false. A caller that gives up must {@link #cancel} its waiter.
     */
    public boolean tryAcquire(long bytes, long heldBytes, Runnable waiter) {
        Runnable next = null;
        List<Runnable> wake = null;
        synchronized (this) {
            boolean overShare = heldBytes > 0 && heldBytes + bytes > capacity / 2 && othersWait(waiter);
            if (bytes <= SMALL_BYTES) {
                boolean fits = !overShare && (used == 0 || used + bytes <= capacity);
                if (!largeWaiters.isEmpty()) fits &= usedSmall == 0 || usedSmall + bytes <= reserve;
                if (!fits) {
                    smallWaiters.add(waiter);
                    return false;
                }
                smallWaiters.remove(waiter);
                usedSmall += bytes;
            } else {
                boolean first = largeWaiters.isEmpty() || largeWaiters.peekFirst() == waiter;
                boolean fits = !overShare && (used == 0
                        || (used - usedSmall + bytes <= capacity - reserve && used + bytes <= capacity));
                if (!first || !fits) {
                    if (!largeWaiters.contains(waiter)) largeWaiters.addLast(waiter);
                    return false;
                }
                if (!largeWaiters.isEmpty()) largeWaiters.pollFirst();
                // The next large request may fit as well; with none left, small ones may use the whole budget again.
                next = largeWaiters.peekFirst();
                if (next == null && !smallWaiters.isEmpty()) wake = new ArrayList<>(smallWaiters);
            }
            used += bytes;
            maxUsed = Math.max(maxUsed, used);
        }
        if (next != null) next.run();
        if (wake != null) wake.forEach(Runnable::run);
        return true;
    }

    /** Gives back bytes a {@link #tryAcquire} took, waking whoever waits. */
    public void release(long bytes) {
        List<Runnable> wake;
        synchronized (this) {
            used -= bytes;
            if (bytes <= SMALL_BYTES) usedSmall -= bytes;
            if (largeWaiters.isEmpty() && smallWaiters.isEmpty()) return;
            wake = new ArrayList<>(smallWaiters);
            if (!largeWaiters.isEmpty()) wake.add(largeWaiters.peekFirst());
        }
        wake.forEach(Runnable::run);
    }

    /** Forgets a waiter that no longer wants bytes (its connection ended). */
    public void cancel(Runnable waiter) {
        Runnable next = null;
        List<Runnable> wake = null;
        synchronized (this) {
            smallWaiters.remove(waiter);
            boolean wasFirst = largeWaiters.peekFirst() == waiter;
            largeWaiters.remove(waiter);
            if (wasFirst) next = largeWaiters.peekFirst();
            if (wasFirst && next == null && !smallWaiters.isEmpty()) wake = new ArrayList<>(smallWaiters);
        }
        if (next != null) next.run();
        if (wake != null) wake.forEach(Runnable::run);
    }

    /** Whether any connection but the one of {@code waiter} waits for bytes now. */
    public synchronized boolean othersWait(Runnable waiter) {
        for (Runnable w : largeWaiters) if (w != waiter) return true;
        for (Runnable w : smallWaiters) if (w != waiter) return true;
        return false;
    }

    /** Connections waiting for bytes now. */
    public synchronized int waiting() {
        return largeWaiters.size() + smallWaiters.size();
    }

    public synchronized long usedBytes() {
        return used;
    }

    /** The most bytes held at once since the server started. */
    public synchronized long maxUsedBytes() {
        return maxUsed;
    }

    public long capacityBytes() {
        return capacity;
    }
}
