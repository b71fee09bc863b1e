package org.ddmapper.targets.mirror.internal;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;

/**
 * Marks regions clean in the log, in batches: the kernel cleans a region as soon as its last write
 * ends, which costs a log write (and, at the next dirtying write, a log flush) per region; here a
 * region stays dirty until it has been idle for a whole tick, so a region written again and again
 * is marked dirty once, and a crash resyncs at most the regions written in the last tick or two.
 *
 * <p>Before any clean mark is set, every leg in the mirror is flushed (the kernel's mirror_flush
 * before a clean mark reaches the log): a region may only be called clean once its data is durable
 * on every leg. A leg whose flush fails gets the flush error ({@code F}); then, as the kernel does,
 * no clean mark is trusted any more: every region is marked dirty in the log and stays so until the
 * table is reloaded.
 */
final class Cleaner {
    /** Hears a leg whose flush failed. */
    interface FlushFailure {
        void legFlushFailed(Legs.Leg leg, IoStatus status);
    }

    private final Regions regions;
    private final Legs legs;
    private final LogWriter log;
    private final FlushFailure onFailure;
    private volatile boolean flushFailed;
    private final Object running = new Object();

    Cleaner(Regions regions, Legs legs, LogWriter log, FlushFailure onFailure) {
        this.regions = regions;
        this.legs = legs;
        this.log = log;
        this.onFailure = onFailure;
    }

    /** Whether a leg's flush has failed under this table (then nothing becomes clean again). */
    boolean flushFailed() { return flushFailed; }

    /**
     * One round: picks the idle regions (every idle one when {@code now}, else those idle for a
     * whole tick), flushes the legs, and marks the picked regions clean; the log is written
     * afterwards. Returns when the round is done with, bounded by {@code timeoutMillis} (0: does
     * not wait for the flush; a region picked twice by overlapping rounds is marked clean once).
     */
    void round(boolean now, long timeoutMillis) {
        synchronized (running) {
            boolean mayClean = !flushFailed && !legs.anyOut() && log.state() == LogWriter.State.OK;
            List<Regions.Candidate> picked = regions.cleanCandidates(now, mayClean);
            if (picked.isEmpty()) return;
            CompletableFuture<Boolean> flushed = flushLegs();
            if (timeoutMillis == 0) {
                flushed.thenAccept(ok -> finish(ok, picked));
                return;
            }
            try {
                finish(flushed.get(timeoutMillis, TimeUnit.MILLISECONDS), picked);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // the legs did not answer in time: nothing is marked clean this round
            }
        }
    }

    private void finish(boolean ok, List<Regions.Candidate> picked) {
        if (!ok) return;
        if (regions.markClean(picked) > 0) log.kick();
    }

    /** Flushes every leg in the mirror; completes with whether all of them did. */
    private CompletableFuture<Boolean> flushLegs() {
        List<Legs.Leg> targets = legs.writeTargets();
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        if (targets.isEmpty()) {
            done.complete(false);
            return done;
        }
        AtomicInteger left = new AtomicInteger(targets.size());
        boolean[] failed = new boolean[1];
        for (Legs.Leg leg : targets) {
            leg.area.device().submit(Bio.flush(status -> {
                if (!status.isOk()) {
                    synchronized (failed) {
                        failed[0] = true;
                    }
                    legFlushFailed(leg, status);
                }
                if (left.decrementAndGet() == 0) {
                    synchronized (failed) {
                        done.complete(!failed[0]);
                    }
                }
            }));
        }
        return done;
    }

    private void legFlushFailed(Legs.Leg leg, IoStatus status) {
        flushFailed = true;
        regions.allDirtyInLog();
        onFailure.legFlushFailed(leg, status);
        log.kick();
    }
}
