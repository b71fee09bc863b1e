package org.ddmapper.targets.mirror.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.Copier;
import org.ddmapper.spi.RateLimit;

/**
 * The background resync (the kernel's do_recovery): copies each region out of sync from the
 * default leg to the other legs in the mirror with the shared {@link Copier}, region by region,
 * a few regions at a time ({@code window}), at most {@code bytesPerSecond} when a rate is set.
 *
 * <p>A region is claimed first: new writes to it wait from then on, and its copy starts once the
 * writes in flight have ended ({@link #quiesced}), so a copy never races a write. When the copy
 * ends, the waiting writes are mapped again. A failed copy leaves the region out of sync and marks
 * the failing side with the sync error ({@code S}); the pass goes on with the next region, and a
 * region that failed is tried again only in a later pass that something else made worth running
 * (a resume, or another region that became out of sync).
 *
 * <p>While a leg is out of the mirror the regions it missed cannot be brought in sync on every
 * leg; the resync then only brings the live legs together.
 */
final class Resync {
    /** What the resync reports. */
    interface Listener {
        /** The side of a copy failed: the source's read, or a destination's write. */
        void copyFailed(Legs.Leg leg, IoStatus status);

        /** Every region is in sync on every leg; {@code copied} regions were copied since the last time. */
        void inSync(long copied);
    }

    private final Regions regions;
    private final Legs legs;
    private final Copier copier;
    private final ScheduledExecutorService scheduler;
    private final Listener listener;
    private final int window;
    private final RateLimit rate = new RateLimit();
    private boolean running;
    private int inFlight;
    private long cursor;
    /** Whether a region failed in this pass (the pass then does not wrap around by itself). */
    private boolean failedThisPass;
    private long copiedSinceInSync;
    private boolean announced;

    Resync(Regions regions, Legs legs, Copier copier, ScheduledExecutorService scheduler, Listener listener, int window) {
        this.regions = regions;
        this.legs = legs;
        this.copier = copier;
        this.scheduler = scheduler;
        this.listener = listener;
        this.window = Math.max(1, window);
    }

    /** Limits the copy rate (0: as fast as the legs go). */
    void rate(long bytesPerSecond) { rate.set(Math.max(0, bytesPerSecond)); }

    long rate() { return rate.bytesPerSecond(); }

    /** Starts (or restarts) a pass from region 0. */
    void start() {
        synchronized (this) {
            running = true;
            cursor = 0;
            failedThisPass = false;
        }
        kick();
    }

    /** Stops claiming regions; copies in flight finish ({@link #awaitIdle}). */
    synchronized void stop() { running = false; }

    /** Whether "in sync" was announced and nothing went out of sync since (handed over in a live upgrade). */
    synchronized boolean announced() { return announced; }

    synchronized void announced(boolean value) { announced = value; }

    /** A write found a leg failing: the mirror is no longer in sync, so the next complete sync is announced again. */
    synchronized void outOfSync() { announced = false; }

    /** Waits (bounded) until no copy is in flight. */
    synchronized boolean awaitIdle(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (inFlight > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    synchronized int inFlight() { return inFlight; }

    /** Claims and starts copies up to the window; announces a complete sync when nothing is left. */
    void kick() {
        List<Regions.Claim> ready = new ArrayList<>();
        long announce = -1;
        synchronized (this) {
            if (!running) return;
            boolean everyLeg = !legs.anyOut();
            while (inFlight < window) {
                Regions.Claim claim = regions.claimForCopy(cursor, everyLeg);
                if (claim == null && cursor > 0 && !failedThisPass) {
                    cursor = 0;
                    claim = regions.claimForCopy(0, everyLeg);
                }
                if (claim == null) break;
                cursor = claim.region() + 1;
                inFlight++;
                if (claim.quiesced()) ready.add(claim);
            }
            if (inFlight == 0 && !announced && everyLeg && regions.allInSync()) {
                announced = true;
                announce = copiedSinceInSync;
                copiedSinceInSync = 0;
            }
        }
        for (Regions.Claim c : ready) startCopy(c.region());
        if (announce >= 0) {
            legs.allInSync();
            listener.inSync(announce);
        }
    }

    /** A claimed region's last write ended: its copy may start. */
    void quiesced(long region) { startCopy(region); }

    private void startCopy(long region) {
        long delay = rate.delayNanos(regionBytes(region));
        if (delay > 0) scheduler.schedule(() -> copy(region), delay, TimeUnit.NANOSECONDS);
        else copy(region);
    }

    private long regionSectors(long region) {
        long first = region * regions.regionSectors();
        return Math.min(regions.regionSectors(), regions.lengthSectors() - first);
    }

    private long regionBytes(long region) { return regionSectors(region) << Bio.SECTOR_SHIFT; }

    private void copy(long region) {
        boolean everyLeg = !legs.anyOut();
        Legs.Leg source = legs.defaultLeg();
        List<Legs.Leg> destinations = new ArrayList<>();
        for (Legs.Leg l : legs.writeTargets()) if (l != source) destinations.add(l);
        if (source.area == null) {
            finished(region, false, everyLeg);
            return;
        }
        if (destinations.isEmpty()) {
            finished(region, true, everyLeg);
            return;
        }
        long first = region * regions.regionSectors();
        List<Copier.Place> to = new ArrayList<>();
        for (Legs.Leg l : destinations) to.add(new Copier.Place(l.area.device(), l.area.offsetSectors() + first));
        copier.copy(new Copier.Place(source.area.device(), source.area.offsetSectors() + first), to, regionSectors(region), 0, outcome -> {
            boolean ok = outcome.read().isOk();
            if (!ok) listener.copyFailed(source, outcome.read());
            for (int i = 0; i < destinations.size(); i++) {
                IoStatus w = outcome.writes().get(i);
                if (!w.isOk()) {
                    ok = false;
                    listener.copyFailed(destinations.get(i), w);
                }
            }
            finished(region, ok, everyLeg);
        });
    }

    private void finished(long region, boolean copied, boolean everyLeg) {
        List<Runnable> waiting = regions.endCopy(region, copied, everyLeg);
        synchronized (this) {
            inFlight--;
            if (copied) copiedSinceInSync++;
            else failedThisPass = true;
            notifyAll();
        }
        waiting.forEach(Runnable::run);
        kick();
    }
}
