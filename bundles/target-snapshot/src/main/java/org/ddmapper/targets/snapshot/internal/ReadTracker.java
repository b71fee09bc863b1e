package org.ddmapper.targets.snapshot.internal;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Requests in flight that something must not overtake (the kernel's tracked chunks): a snapshot's
 * reads that went to the origin (an exception committed for a chunk one covers must not let the
 * origin write over that chunk until the read is done), a merging snapshot's writes that went to
 * the COW (a merge must not copy a chunk back while one is still writing it). Ranges of chunks,
 * not single chunks, so a large request costs one entry. Guarded by the snapshot's lock.
 */
final class ReadTracker {
    /** A request in flight over chunks [first, end). */
    static final class Range {
        final long first;
        final long end;

        Range(long first, long end) {
            this.first = first;
            this.end = end;
        }

        boolean overlaps(long otherFirst, long otherEnd) { return first < otherEnd && otherFirst < end; }
    }

    private record Deferred(long first, long end, Runnable action) {}

    private final List<Range> tracked = new ArrayList<>();
    private final List<Deferred> deferred = new ArrayList<>();

    Range track(long first, long end) {
        Range r = new Range(first, end);
        tracked.add(r);
        return r;
    }

    /** Whether a tracked request overlaps chunks [first, end). */
    boolean busy(long first, long end) {
        for (Range r : tracked) if (r.overlaps(first, end)) return true;
        return false;
    }

    boolean covers(long chunk) { return busy(chunk, chunk + 1); }

    /** Runs {@code action} (from {@link #untrack}'s caller) once nothing tracked overlaps chunks [first, end). */
    void whenFree(long first, long end, Runnable action) {
        deferred.add(new Deferred(first, end, action));
    }

    void whenFree(long chunk, Runnable action) { whenFree(chunk, chunk + 1, action); }

    /** A request ended; returns the deferred actions it freed, to run outside the lock. */
    List<Runnable> untrack(Range r) {
        tracked.remove(r);
        if (deferred.isEmpty()) return List.of();
        List<Runnable> freed = new ArrayList<>();
        for (Iterator<Deferred> it = deferred.iterator(); it.hasNext(); ) {
            Deferred d = it.next();
            if (r.overlaps(d.first, d.end) && !busy(d.first, d.end)) {
                freed.add(d.action);
                it.remove();
            }
        }
        return freed;
    }
}
