package org.ddmapper.targets.snapshot.internal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * An origin write waiting for the copy-outs it needs (in any number of snapshots): it goes on once
 * each has ended, well or not (a snapshot whose copy-out failed is invalid and no longer guards
 * the origin). Armed with one extra count while copy-outs are still being looked up, so it cannot
 * go before the lookup has finished.
 */
final class OriginWait {
    private final AtomicInteger left = new AtomicInteger(1);
    private final Runnable go;

    OriginWait(Runnable go) {
        this.go = go;
    }

    /** One more copy-out to wait for (during the lookup). */
    void add() { left.incrementAndGet(); }

    /** A copy-out ended, or the lookup did; runs the write once nothing is left. */
    void done() {
        if (left.decrementAndGet() == 0) go.run();
    }
}
