package org.ddmapper.targets.mirror.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;

/**
 * A mirror's I/O paths (dm-raid1's map and end_io).
 *
 * <ul>
 * <li><b>Writes</b> (WRITE, WRITE_ZEROES, DISCARD): the regions are admitted ({@link Regions#beginWrite}:
 *     a region being copied makes the write wait for the copy), their dirty marks made durable in
 *     the log when they were clean, then the write goes to every leg in the mirror and completes
 *     when all have answered: OK when at least one leg took it, else the first error (the kernel
 *     fails a write only when no valid leg is left). A DISCARD is sent to the legs as WRITE_ZEROES
 *     (a hole in a file), so the legs stay equal whatever each device does with a discard.
 * <li><b>Reads</b> go to one leg: any live leg in a region in sync among them (the one with the
 *     fewest bytes in flight), else the default leg; a failed read is tried on the next leg that
 *     holds the data, and fails only when none is left.
 * <li><b>Flush</b> goes to every leg in the mirror and to the log device.
 * </ul>
 *
 * A leg that fails is reported to {@link Failures} (status character, event, out of the mirror
 * with handle_errors). When that put a leg out, the write completes only once the log's stale-leg
 * record names it, so no acknowledged write depends on a leg that a later resync could copy from.
 */
final class MirrorIo {
    /** What the I/O paths report. */
    interface Failures {
        void legFailed(Legs.Leg leg, Legs.Failure kind, IoStatus status);
    }

    private final Regions regions;
    private final Legs legs;
    private final LogWriter log;
    private final Resync resync;
    private final Failures failures;

    MirrorIo(Regions regions, Legs legs, LogWriter log, Resync resync, Failures failures) {
        this.regions = regions;
        this.legs = legs;
        this.log = log;
        this.resync = resync;
        this.failures = failures;
    }

    void map(Bio bio) {
        switch (bio.op()) {
            case READ -> read(bio);
            case FLUSH -> flush(bio);
            case WRITE, WRITE_ZEROES, DISCARD -> write(bio);
        }
    }

    // ---- writes ----

    private void write(Bio bio) {
        if (bio.lengthSectors() == 0) {
            bio.complete(IoStatus.OK);
            return;
        }
        long first = regions.regionOf(bio.sector());
        long last = regions.lastRegion(bio.sector(), bio.lengthSectors());
        Long need = regions.beginWrite(first, last, () -> write(bio));
        if (need == null) return; // waits for a copy of one of its regions; mapped again after it
        if (need == 0 && log.state() == LogWriter.State.OK) {
            dispatch(bio, first, last);
            return;
        }
        log.whenDurable(need, 0, s -> {
            if (s.isOk()) {
                dispatch(bio, first, last);
            } else {
                regions.endWrite(first, last, true, false).forEach(resync::quiesced);
                bio.complete(s);
            }
        });
    }

    private void dispatch(Bio bio, long first, long last) {
        List<Legs.Leg> targets = legs.writeTargets();
        if (targets.isEmpty()) {
            regions.endWrite(first, last, false, false).forEach(resync::quiesced);
            bio.fail(Errno.EIO, "mirror: no leg left to write to");
            return;
        }
        IoStatus[] outcome = new IoStatus[targets.size()];
        AtomicInteger left = new AtomicInteger(targets.size());
        for (int i = 0; i < targets.size(); i++) {
            int at = i;
            Legs.Leg leg = targets.get(i);
            long sector = leg.area.offsetSectors() + bio.sector();
            Bio child = switch (bio.op()) {
                case WRITE -> bio.slice(0, bio.lengthSectors(), sector, null);
                case DISCARD -> Bio.writeZeroes(sector, bio.lengthSectors(), bio.flags() & Bio.FUA, null);
                default -> Bio.writeZeroes(sector, bio.lengthSectors(), bio.flags(), null);
            };
            leg.area.device().submit(child.withCompletion(s -> {
                outcome[at] = s;
                if (left.decrementAndGet() == 0) written(bio, first, last, targets, outcome);
            }));
        }
    }

    private void written(Bio bio, long first, long last, List<Legs.Leg> targets, IoStatus[] outcome) {
        IoStatus firstError = null;
        boolean anyOk = false;
        boolean failed = false;
        for (int i = 0; i < outcome.length; i++) {
            if (outcome[i].isOk()) {
                anyOk = true;
                continue;
            }
            failed = true;
            if (firstError == null) firstError = outcome[i];
            failures.legFailed(targets.get(i), Legs.Failure.WRITE, outcome[i]);
        }
        boolean everyLeg = !failed && targets.size() == legs.count();
        regions.endWrite(first, last, everyLeg, failed && !legs.handleErrors()).forEach(resync::quiesced);
        if (failed) resync.kick();
        IoStatus result = anyOk ? IoStatus.OK : firstError;
        completeAfterRecord(bio, result, failed && anyOk && legs.handleErrors());
    }

    /** Completes {@code bio}, after the log's stale-leg record is durable when a leg just went out. */
    private void completeAfterRecord(Bio bio, IoStatus result, boolean legWentOut) {
        if (!legWentOut || log.isCore()) {
            bio.complete(result);
            return;
        }
        log.whenDurable(0, legs.staleVersion(), s -> bio.complete(s.isOk() ? result : s));
    }

    // ---- reads ----

    private void read(Bio bio) {
        if (bio.lengthSectors() == 0) {
            bio.complete(IoStatus.OK);
            return;
        }
        long first = regions.regionOf(bio.sector());
        long last = regions.lastRegion(bio.sector(), bio.lengthSectors());
        readFrom(bio, first, last, new ArrayList<>(2), null);
    }

    private void readFrom(Bio bio, long first, long last, List<Legs.Leg> tried, IoStatus lastError) {
        Legs.Leg leg = legs.readLeg(regions.readableAnywhere(first, last), tried);
        if (leg == null) {
            bio.complete(lastError != null ? lastError
                    : IoStatus.error(Errno.EIO, "mirror: no leg holds sectors " + bio.sector() + "+" + bio.lengthSectors()));
            return;
        }
        long bytes = bio.lengthBytes();
        leg.inFlightBytes.addAndGet(bytes);
        leg.area.device().submit(Bio.of(BioOp.READ, leg.area.offsetSectors() + bio.sector(), bio.lengthSectors(), bio.data(),
                bio.flags(), s -> {
                    leg.inFlightBytes.addAndGet(-bytes);
                    if (!s.isError() || !s.errno().isPathError()) {
                        bio.complete(s);
                        return;
                    }
                    failures.legFailed(leg, Legs.Failure.READ, s);
                    tried.add(leg);
                    readFrom(bio, first, last, tried, s);
                }));
    }

    // ---- flush ----

    private void flush(Bio bio) {
        List<Legs.Leg> targets = legs.writeTargets();
        boolean toLog = !log.isCore() && log.state() == LogWriter.State.OK;
        int parts = targets.size() + (toLog ? 1 : 0);
        if (targets.isEmpty()) {
            bio.fail(Errno.EIO, "mirror: no leg left to flush");
            return;
        }
        IoStatus[] outcome = new IoStatus[targets.size()];
        AtomicInteger left = new AtomicInteger(parts);
        Runnable end = () -> {
            if (left.decrementAndGet() == 0) flushed(bio, targets, outcome);
        };
        for (int i = 0; i < targets.size(); i++) {
            int at = i;
            targets.get(i).area.device().submit(Bio.flush(s -> {
                outcome[at] = s;
                end.run();
            }));
        }
        if (toLog) log.device().submit(Bio.flush(s -> {
            if (!s.isOk()) log.fail(LogWriter.State.FLUSH_FAILED, s);
            end.run();
        }));
    }

    private void flushed(Bio bio, List<Legs.Leg> targets, IoStatus[] outcome) {
        IoStatus firstError = null;
        boolean anyOk = false;
        for (int i = 0; i < outcome.length; i++) {
            if (outcome[i].isOk()) {
                anyOk = true;
            } else {
                if (firstError == null) firstError = outcome[i];
                failures.legFailed(targets.get(i), Legs.Failure.WRITE, outcome[i]);
            }
        }
        completeAfterRecord(bio, anyOk ? IoStatus.OK : firstError, firstError != null && anyOk && legs.handleErrors());
    }
}
