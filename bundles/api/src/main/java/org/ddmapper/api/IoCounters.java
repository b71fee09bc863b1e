package org.ddmapper.api;

import java.util.Arrays;

/**
 * The I/O counters of one device, mapped or underlying, since it was created or opened: per kind
 * of request (the groups the kernel's diskstats keep: reads; writes, WRITE_ZEROES included;
 * discards; flushes) how many completed, their sectors, how many failed, their summed latency and
 * a latency histogram; plus the requests in flight now. Values only grow, so a rate is the
 * difference of two readings.
 */
public record IoCounters(Op reads, Op writes, Op discards, Op flushes, long inFlight) {

    /**
     * Upper bounds of the latency histogram's buckets, in microseconds; a last bucket counts what
     * is slower than the last bound. Fixed, so that readings of any two devices and two times add.
     */
    private static final long[] BOUNDS_MICROS = {
        50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 10_000_000};

    /** Histogram buckets: one per bound and one past the last. */
    public static final int BUCKETS = BOUNDS_MICROS.length + 1;

    /** The upper bound of bucket {@code i} in microseconds; {@link Long#MAX_VALUE} for the last. */
    public static long boundMicros(int i) { return i < BOUNDS_MICROS.length ? BOUNDS_MICROS[i] : Long.MAX_VALUE; }

    /** The bucket a latency of {@code nanos} falls in: the first whose bound it does not exceed. */
    public static int bucketOf(long nanos) {
        long micros = (nanos + 999) / 1000;
        int i = 0;
        while (i < BOUNDS_MICROS.length && micros > BOUNDS_MICROS[i]) i++;
        return i;
    }

    /** Counters of one kind of request. {@code latencyBuckets} has {@link #BUCKETS} entries, not cumulative. */
    public record Op(long ios, long sectors, long errors, long latencyNanos, long[] latencyBuckets) {
        public static final Op NONE = new Op(0, 0, 0, 0, new long[BUCKETS]);

        public Op {
            if (latencyBuckets.length != BUCKETS) throw new IllegalArgumentException("expected " + BUCKETS + " latency buckets");
            latencyBuckets = latencyBuckets.clone();
        }

        @Override public long[] latencyBuckets() { return latencyBuckets.clone(); }

        /** Mean latency in milliseconds (0 without requests). */
        public double meanMillis() { return ios == 0 ? 0 : latencyNanos / 1e6 / ios; }

        @Override
        public boolean equals(Object o) {
            return o instanceof Op p && p.ios == ios && p.sectors == sectors && p.errors == errors && p.latencyNanos == latencyNanos
                    && Arrays.equals(p.latencyBuckets, latencyBuckets);
        }

        @Override
        public int hashCode() { return Long.hashCode(ios) * 31 + Arrays.hashCode(latencyBuckets); }

        @Override
        public String toString() {
            return "Op[ios=" + ios + ", sectors=" + sectors + ", errors=" + errors + ", latencyNanos=" + latencyNanos
                    + ", latencyBuckets=" + Arrays.toString(latencyBuckets) + "]";
        }
    }

    /** The counters of the group a request of {@code op} is counted in. */
    public Op of(BioOp op) {
        return switch (op) {
            case READ -> reads;
            case WRITE, WRITE_ZEROES -> writes;
            case DISCARD -> discards;
            case FLUSH -> flushes;
        };
    }
}
