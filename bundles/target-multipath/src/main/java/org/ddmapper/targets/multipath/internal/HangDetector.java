package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Finds path requests that take longer than the path I/O timeout. Rather than a timer per
 * request, a sweep is scheduled for the earliest deadline anyone needs: a new request asks for
 * its own deadline, which is later than the one already pending unless none is, and a sweep
 * asks for the deadline of the oldest request it leaves. So a busy map costs about one timer
 * task per timeout period and no request is found late.
 */
final class HangDetector {
    private static final long NONE = Long.MAX_VALUE;
    private final Set<PathIo> inflight = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextSweep = new AtomicLong(NONE);
    private final long timeoutNanos;
    private final ScheduledExecutorService scheduler;
    private final Consumer<PathIo> onTimeout;
    private volatile boolean stopped;

    HangDetector(long timeoutMillis, ScheduledExecutorService scheduler, Consumer<PathIo> onTimeout) {
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        this.scheduler = scheduler;
        this.onTimeout = onTimeout;
    }

    void started(PathIo io) {
        inflight.add(io);
        sweepBy(io.startNanos + timeoutNanos);
    }

    void finished(PathIo io) {
        inflight.remove(io);
    }

    void stop() {
        stopped = true;
        inflight.clear();
    }

    /** Makes sure a sweep runs no later than {@code deadline} (System.nanoTime). */
    private void sweepBy(long deadline) {
        while (!stopped) {
            long pending = nextSweep.get();
            if (pending <= deadline) return;
            if (nextSweep.compareAndSet(pending, deadline)) {
                try {
                    scheduler.schedule(() -> sweep(deadline), Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    nextSweep.compareAndSet(deadline, NONE);
                }
                return;
            }
        }
    }

    private void sweep(long deadline) {
        nextSweep.compareAndSet(deadline, NONE);
        if (stopped) return;
        long now = System.nanoTime();
        long oldest = NONE;
        List<PathIo> expired = new ArrayList<>();
        for (PathIo io : inflight) {
            if (now - io.startNanos >= timeoutNanos) expired.add(io);
            else oldest = Math.min(oldest, io.startNanos);
        }
        for (PathIo io : expired) {
            inflight.remove(io);
            onTimeout.accept(io);
        }
        if (oldest != NONE) sweepBy(oldest + timeoutNanos);
    }
}
