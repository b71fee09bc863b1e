package org.ddmapper.core.internal;

import java.util.concurrent.atomic.LongAdder;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.IoCounters;

/**
 * The I/O counters of one device (a mapped device, or one underlying device of a mapped device),
 * cheap enough to be always on.
 *
 * <p>Design. Every counter is a {@link LongAdder}: an uncontended add is one CAS on its base
 * value; when threads collide it spreads the adds over per-thread cells, so the I/O path never
 * waits on a lock or spins on one shared atomic. A request costs two {@code System.nanoTime()}
 * calls (its start, taken by the caller, and its end) and five adds (ios, sectors, latency,
 * histogram bucket, and the started or completed count). Readers sum the cells: a reading taken
 * while I/O runs is not one instant's, but each counter only grows, which is all a rate needs.
 */
final class IoStats {
    /** Counters per group: ios, sectors, errors, latency nanos, then the histogram buckets. */
    private static final int PER_GROUP = 4 + IoCounters.BUCKETS;
    private static final int GROUPS = 4;
    private final LongAdder[] counters = new LongAdder[GROUPS * PER_GROUP];
    /** Requests started and completed (in flight is the difference), for devices whose in-flight count is not kept elsewhere. */
    private final LongAdder started = new LongAdder();
    private final LongAdder completed = new LongAdder();

    IoStats() {
        for (int i = 0; i < counters.length; i++) counters[i] = new LongAdder();
    }

    private static int group(BioOp op) {
        return switch (op) {
            case READ -> 0;
            case WRITE, WRITE_ZEROES -> 1;
            case DISCARD -> 2;
            case FLUSH -> 3;
        };
    }

    /** A request left for the device (counted in flight until {@link #done}). */
    void started() { started.increment(); }

    /** A request started at {@code startNanos} ({@code System.nanoTime()}) completed. */
    void done(BioOp op, long sectors, boolean failed, long startNanos) {
        long nanos = System.nanoTime() - startNanos;
        int base = group(op) * PER_GROUP;
        counters[base].increment();
        if (sectors != 0) counters[base + 1].add(sectors);
        if (failed) counters[base + 2].increment();
        counters[base + 3].add(nanos);
        counters[base + 4 + IoCounters.bucketOf(nanos)].increment();
    }

    /** A started request completed (after {@link #done}). */
    void completed() { completed.increment(); }

    /** A reading, with {@code inFlight} as given (negative: the started minus the completed requests). */
    IoCounters snapshot(long inFlight) {
        IoCounters.Op[] ops = new IoCounters.Op[GROUPS];
        for (int g = 0; g < GROUPS; g++) {
            int base = g * PER_GROUP;
            long[] buckets = new long[IoCounters.BUCKETS];
            for (int b = 0; b < buckets.length; b++) buckets[b] = counters[base + 4 + b].sum();
            ops[g] = new IoCounters.Op(counters[base].sum(), counters[base + 1].sum(), counters[base + 2].sum(), counters[base + 3].sum(), buckets);
        }
        long flight = inFlight >= 0 ? inFlight : Math.max(0, started.sum() - completed.sum());
        return new IoCounters(ops[0], ops[1], ops[2], ops[3], flight);
    }
}
