package org.ddmapper.target.multipath.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Finds path requests that take longer than the path I/O timeout. Rather than a timer per
 * request, one sweep is armed for the oldest request's deadline and re-armed for the next
 * oldest, so a busy map costs about one timer task per timeout period.
 */
final class HangDetector {
    private final Set<PathIo> inflight = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean armed = new AtomicBoolean();
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
        if (armed.compareAndSet(false, true)) arm(timeoutNanos);
    }

    void finished(PathIo io) {
        inflight.remove(io);
    }

    void stop() {
        stopped = true;
        inflight.clear();
    }

    private void arm(long delayNanos) {
        if (stopped) {
            armed.set(false);
            return;
        }
        try {
            scheduler.schedule(this::sweep, Math.max(delayNanos, 0), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            armed.set(false);
        }
    }

    private void sweep() {
        armed.set(false);
        long now = System.nanoTime();
        long oldest = Long.MAX_VALUE;
        List<PathIo> expired = new ArrayList<>();
        for (PathIo io : inflight) {
            if (now - io.startNanos >= timeoutNanos) expired.add(io);
            else oldest = Math.min(oldest, io.startNanos);
        }
        for (PathIo io : expired) {
            inflight.remove(io);
            onTimeout.accept(io);
        }
        if (oldest != Long.MAX_VALUE && armed.compareAndSet(false, true)) arm(oldest + timeoutNanos - now);
    }
}
