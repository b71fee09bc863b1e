package org.ddmapper.targets.snapshot.internal;

import java.util.function.BooleanSupplier;

/**
 * Waiting on an object's monitor until a condition holds, for at most a bound: how a table going
 * away waits for its copy-outs, an activation for the origin writes in flight, a suspend for the
 * merge run under way. Nothing here waits forever: what did not happen in time is logged by the
 * caller and life goes on (the kernel would wait).
 */
final class BoundedWait {
    private BoundedWait() {}

    /**
     * Waits on {@code monitor} (which the caller holds) until {@code done} is true or
     * {@code timeoutMillis} have passed; returns whether it is true. An interrupt ends the wait
     * (the interrupt is kept).
     */
    static boolean until(Object monitor, BooleanSupplier done, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (!done.getAsBoolean()) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) return false;
            try {
                monitor.wait(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }
}
