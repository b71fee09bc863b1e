package org.ddmapper.api.text;

import java.util.List;
import java.util.Locale;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.DmException;
import org.ddmapper.api.IoCounters;

/**
 * The I/O statistics view ({@code ddsetup stats}, the console's {@code dm:stats}): per device a
 * block with one row for the device itself and one per underlying device (indented), the counters
 * iostat and the kernel's diskstats keep, totals since the device was created; then the latency
 * histogram of each kind of request that was seen, one row per device and kind, a column per
 * bucket (its upper bound; {@code >10s} past the last):
 *
 * <pre>
 * demo
 *   DEVICE                 READS READ_SECT  WRITES WRITE_SECT DISCARDS DISC_SECT FLUSHES ERRORS INFLIGHT R_AWAIT_MS W_AWAIT_MS
 *   demo                      12        96       3         24        0         0       1      0        0      0.041      0.113
 *     /var/demo.img           12        96       3         24        0         0       1      0        0      0.030      0.095
 *   LATENCY          50us 100us 250us ...
 *   demo read           11     1     0 ...
 * </pre>
 */
public final class StatsText {
    private static final String[] KINDS = {"read", "write", "discard", "flush"};

    private StatsText() {}

    /** The view of every device, or of the one when {@code device} is not null. */
    public static String render(DeviceManager manager, DeviceRef device) {
        if (device != null) return render(manager.stats(device));
        List<DeviceInfo> all = DmText.byName(manager.list());
        if (all.isEmpty()) return DmText.NO_DEVICES;
        StringBuilder sb = new StringBuilder();
        for (DeviceInfo d : all) {
            try {
                sb.append(render(manager.stats(DeviceRef.id(d.id()))));
            } catch (DmException e) {
                if (!DmText.gone(manager, DeviceRef.id(d.id()))) throw e;
            }
        }
        return sb.toString();
    }

    /** One device's block. */
    public static String render(DeviceStats s) {
        StringBuilder sb = new StringBuilder(s.name()).append('\n');
        sb.append(String.format(Locale.ROOT, "  %-24s %8s %10s %8s %10s %8s %10s %8s %6s %8s %10s %10s%n", "DEVICE", "READS", "READ_SECT",
                "WRITES", "WRITE_SECT", "DISCARDS", "DISC_SECT", "FLUSHES", "ERRORS", "INFLIGHT", "R_AWAIT_MS", "W_AWAIT_MS"));
        row(sb, "  " + s.name(), s.device());
        for (DeviceStats.Lower l : s.lower()) row(sb, "    " + l.reference(), l.counters());
        StringBuilder hist = new StringBuilder();
        histogram(hist, s.name(), s.device());
        for (DeviceStats.Lower l : s.lower()) histogram(hist, l.reference(), l.counters());
        if (hist.length() > 0) {
            sb.append(String.format(Locale.ROOT, "  %-32s", "LATENCY"));
            for (int b = 0; b < IoCounters.BUCKETS; b++) sb.append(String.format(Locale.ROOT, " %6s", bucketLabel(b)));
            sb.append('\n').append(hist);
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String label, IoCounters c) {
        long errors = c.reads().errors() + c.writes().errors() + c.discards().errors() + c.flushes().errors();
        sb.append(String.format(Locale.ROOT, "%-26s %8d %10d %8d %10d %8d %10d %8d %6d %8d %10.3f %10.3f%n", label, c.reads().ios(),
                c.reads().sectors(), c.writes().ios(), c.writes().sectors(), c.discards().ios(), c.discards().sectors(), c.flushes().ios(),
                errors, c.inFlight(), c.reads().meanMillis(), c.writes().meanMillis()));
    }

    private static void histogram(StringBuilder sb, String label, IoCounters c) {
        IoCounters.Op[] ops = {c.reads(), c.writes(), c.discards(), c.flushes()};
        for (int k = 0; k < ops.length; k++) {
            if (ops[k].ios() == 0) continue;
            sb.append(String.format(Locale.ROOT, "  %-32s", label + " " + KINDS[k]));
            for (long n : ops[k].latencyBuckets()) sb.append(String.format(Locale.ROOT, " %6d", n));
            sb.append('\n');
        }
    }

    /** A bucket's column heading: its upper bound ({@code 50us}, {@code 2.5ms}, {@code 1s}), or {@code >10s} for the last. */
    public static String bucketLabel(int bucket) {
        long micros = IoCounters.boundMicros(bucket);
        if (micros == Long.MAX_VALUE) return ">" + bucketLabel(bucket - 1);
        if (micros < 1000) return micros + "us";
        if (micros < 1_000_000) return trim(micros / 1000.0) + "ms";
        return trim(micros / 1e6) + "s";
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
