package org.ddmapper.targets.snapshot.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.Bio;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.Copier;
import org.ddmapper.targets.snapshot.internal.store.MergeRun;
import org.ddmapper.targets.snapshot.internal.store.PersistentStore;
import org.tinylog.Logger;

/**
 * Merges a snapshot's exceptions back into its origin in the background while both serve I/O (the
 * kernel's snapshot_merge_next_chunks), one run at a time, last committed first:
 *
 * <ol>
 * <li>the store names the next run (consecutive origin and COW chunks; {@link PersistentStore#prepareMerge});
 * <li>it passes the origin's gate like any origin write, and the other snapshots of the origin get
 *     their copy-outs of those chunks first (repeated until none is needed);
 * <li>the run's chunks are marked merging: new writes to them wait; writes already on their way to
 *     the COW are waited for;
 * <li>the shared copier copies the chunks from the COW to the origin; the origin is flushed; the
 *     store zeroes the run's entries and rewrites the area (flush, FUA);
 * <li>the exceptions are forgotten, the writes that waited go to the origin, and the next run
 *     starts (from the scheduler, so that devices answering at once cannot nest steps).
 * </ol>
 *
 * When no exception is left, one {@code SNAPSHOT_MERGE_COMPLETE} event is raised. A failed read,
 * copy, flush or store write stops the merge: status "Merge failed", the waiting writes fail, one
 * {@code SNAPSHOT_MERGE_FAILED} event. {@link #stop} (presuspend) lets the run under way finish.
 */
final class Merger {
    /** How long a suspend waits for the run under way. */
    static final long STOP_WAIT_MILLIS = 60_000;

    private final MergeTarget target;
    private final Snapshot s;
    private final OriginGroup group;
    // guarded by s
    private boolean running;
    private boolean stopRequested;
    long mergingFirst = -1;
    long mergingEnd = -1;
    final List<Bio> waitingForRun = new ArrayList<>();
    private long chunksMerged;
    private long startNanos;

    Merger(MergeTarget target) {
        this.target = target;
        this.s = target.snapshot;
        this.group = target.group;
    }

    /** Whether a write to {@code chunk} must wait for the run being merged (under the snapshot's lock). */
    boolean merging(long chunk) { return chunk >= mergingFirst && chunk < mergingEnd; }

    void start() {
        synchronized (s) {
            if (running) return;
            running = true;
            stopRequested = false;
            startNanos = System.nanoTime();
        }
        later(this::next);
    }

    /** Asks the merge to stop and waits (bounded) for the run under way. */
    void stop() {
        synchronized (s) {
            stopRequested = true;
            if (!BoundedWait.until(s, () -> !running, STOP_WAIT_MILLIS))
                Logger.warn("{}: the merge step under way did not end within {} ms", s, STOP_WAIT_MILLIS);
        }
    }

    private void next() {
        PersistentStore store;
        synchronized (s) {
            if (stopRequested) {
                shut();
                return;
            }
            if (!s.valid) {
                Logger.error("{}: Snapshot is invalid: can't merge", s);
                shut();
                return;
            }
            store = (PersistentStore) s.store;
        }
        store.prepareMerge(run -> {
            if (run.done()) complete();
            else pass(run);
        }, problem -> fail("io_error", "Read error in exception store: shutting down merge (" + problem + ")"));
    }

    /** Through the origin's gate: held while it is frozen, then the copy-outs. */
    private void pass(MergeRun run) {
        if (!group.begin(new OriginGroup.HeldWrite(target, () -> pass(run), this::shutHeld))) return;
        copyOuts(run);
    }

    private void copyOuts(MergeRun run) {
        int shift = s.chunkShift;
        long start = run.firstOldChunk() << shift;
        long end = start + ((long) run.chunks() << shift);
        int[] waited = {0};
        waited[0] = OriginWrites.copyOutThen(group, start, end, () -> {
            if (waited[0] > 0) later(() -> copyOuts(run)); // until no copy-out is needed any more, as the kernel loops
            else markMerging(run);
        });
    }

    /** Marks the run merging and waits for writes to it already on their way to the COW. */
    private void markMerging(MergeRun run) {
        boolean busy;
        synchronized (s) {
            mergingFirst = run.firstOldChunk();
            mergingEnd = run.firstOldChunk() + run.chunks();
            busy = s.reads.busy(mergingFirst, mergingEnd);
            if (busy) s.reads.whenFree(mergingFirst, mergingEnd, () -> copy(run));
        }
        if (!busy) copy(run);
    }

    private void copy(MergeRun run) {
        int shift = s.chunkShift;
        long to = run.firstOldChunk() << shift;
        long length = Math.min((long) run.chunks() << shift, s.args.origin().sizeSectors() - to);
        if (length <= 0) {
            endRun(run, IoStatus.error(Errno.EIO, "origin chunk " + run.firstOldChunk() + " lies beyond the origin device"), "io_error");
            return;
        }
        s.context.copier().copy(new Copier.Place(s.args.cow(), run.firstNewChunk() << shift), List.of(new Copier.Place(s.args.origin(), to)),
                length, 0, outcome -> {
                    if (!outcome.ok()) {
                        endRun(run, outcome.firstError(), "io_error");
                        return;
                    }
                    s.args.origin().submit(Bio.flush(flushed -> {
                        if (!flushed.isOk()) {
                            endRun(run, flushed, "io_error");
                            return;
                        }
                        ((PersistentStore) s.store()).commitMerge(run.chunks(), written -> endRun(run, written, "metadata_error"));
                    }));
                });
    }

    /** The run's end: forget its exceptions and let the waiting writes go to the origin, or stop on an error. */
    private void endRun(MergeRun run, IoStatus status, String failure) {
        List<Bio> waiting;
        synchronized (s) {
            if (status.isOk()) {
                for (long c = run.firstOldChunk(); c < run.firstOldChunk() + run.chunks(); c++) s.complete.remove(c);
                chunksMerged += run.chunks();
            }
            mergingFirst = -1;
            mergingEnd = -1;
            waiting = new ArrayList<>(waitingForRun);
            waitingForRun.clear();
        }
        if (!status.isOk()) {
            group.end();
            for (Bio b : waiting) b.complete(IoStatus.error(Errno.EIO, "the merge into the origin failed"));
            fail(failure, "merging origin chunks " + run.firstOldChunk() + "+" + run.chunks() + " failed: " + status);
            return;
        }
        // the writes that waited pass the gate with the run: a snapshot activated meanwhile must not miss them
        AtomicInteger left = new AtomicInteger(waiting.size() + 1);
        Runnable one = () -> {
            if (left.decrementAndGet() == 0) group.end();
        };
        for (Bio b : waiting) s.args.origin().submit(b.withCompletion(st -> {
            one.run();
            b.complete(st);
        }));
        one.run();
        later(this::next);
    }

    private void complete() {
        boolean announce;
        long chunks;
        long millis;
        synchronized (s) {
            announce = !target.mergeAnnounced;
            target.mergeAnnounced = true;
            chunks = chunksMerged;
            millis = (System.nanoTime() - startNanos) / 1_000_000;
            shut();
        }
        if (announce) {
            Logger.info("{}: merge complete ({} chunks in {} ms)", s, chunks, millis);
            s.raise(new EventPayload.SnapshotMergeComplete(chunks, millis));
        }
    }

    private void fail(String reason, String detail) {
        long left;
        synchronized (s) {
            s.mergeFailed = true;
            left = s.complete.size();
            shut();
        }
        Logger.error("{}: {}", s, detail);
        s.raise(new EventPayload.SnapshotMergeFailed(reason, left));
    }

    /** A held run was handed back (the target is being suspended): the merge stops there. */
    private void shutHeld() {
        synchronized (s) {
            shut();
        }
    }

    /** Under the snapshot's lock: the merge is no longer running. */
    private void shut() {
        running = false;
        s.notifyAll();
    }

    /** Runs the next step from the scheduler; a step that throws stops the merge as failed instead of silently. */
    private void later(Runnable step) {
        s.context.scheduler().execute(() -> {
            try {
                step.run();
            } catch (RuntimeException e) {
                Logger.error(e, "{}: merge step failed", s);
                e.printStackTrace();
                fail("internal_error", "a merge step failed: " + e);
            }
        });
    }
}
