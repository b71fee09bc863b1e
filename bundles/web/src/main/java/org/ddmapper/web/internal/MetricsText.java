package org.ddmapper.web.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoCounters;

/**
 * The Prometheus text exposition (format 0.0.4) of every device, for {@code /metrics}: device
 * state, and the I/O counters of each device and of each device underneath it, named as
 * node_exporter names a disk's ({@code node_disk_reads_completed_total} becomes
 * {@code ddmapper_device_reads_completed_total{device="demo"}}; the devices underneath are
 * {@code ddmapper_underlying_…{device="demo",underlying="/var/demo.img"}}), with a latency
 * histogram per kind of request ({@code ddmapper_device_io_duration_seconds}, buckets from
 * {@link IoCounters}). Bytes and seconds, as Prometheus wants base units. Each family is written
 * once, with its HELP and TYPE, its samples together.
 */
public final class MetricsText {
    private static final String[] KINDS = {"read", "write", "discard", "flush"};
    private final Map<String, Family> families = new LinkedHashMap<>();

    private record Family(String help, String type, List<String> samples) {}

    private MetricsText() {}

    /** The exposition of every device the manager has now. */
    public static String render(DeviceManager manager) {
        MetricsText m = new MetricsText();
        List<DeviceInfo> devices = manager.list();
        List<DeviceStats> stats = new ArrayList<>();
        List<DeviceInfo> shown = new ArrayList<>();
        for (DeviceInfo d : devices) {
            DeviceStats s;
            try {
                s = manager.stats(DeviceRef.id(d.id()));
            } catch (DmException e) {
                if (e.errno() == Errno.ENXIO) continue; // removed meanwhile
                throw e;
            }
            shown.add(d);
            stats.add(s);
        }
        m.gauge("ddmapper_devices", "Mapped devices.", "", shown.size());
        for (int i = 0; i < shown.size(); i++) m.device(shown.get(i), stats.get(i));
        return m.text();
    }

    private void device(DeviceInfo d, DeviceStats s) {
        String l = labels("device", d.name());
        gauge("ddmapper_device_suspended", "Whether the device is suspended (1) or serving (0).", l, d.suspended() ? 1 : 0);
        gauge("ddmapper_device_open_count", "Openers of the device (NBD connections, stacked tables).", l, d.openCount());
        gauge("ddmapper_device_size_bytes", "Size of the live table in bytes.", l, d.sizeSectors() * Bio.SECTOR_BYTES);
        counter("ddmapper_device_events_total", "Events counted in the device's event number (dmsetup's event_nr).", l, d.eventNr());
        io("ddmapper_device_", "the device", l, s.device());
        for (DeviceStats.Lower lower : s.lower())
            io("ddmapper_underlying_", "a device underneath", labels("device", d.name(), "underlying", lower.reference()), lower.counters());
    }

    private void io(String prefix, String what, String l, IoCounters c) {
        counter(prefix + "reads_completed_total", "Reads completed by " + what + ".", l, c.reads().ios());
        counter(prefix + "read_bytes_total", "Bytes read by " + what + ".", l, c.reads().sectors() * Bio.SECTOR_BYTES);
        counter(prefix + "read_time_seconds_total", "Seconds spent by reads of " + what + ".", l, c.reads().latencyNanos() / 1e9);
        counter(prefix + "read_errors_total", "Reads of " + what + " that failed.", l, c.reads().errors());
        counter(prefix + "writes_completed_total", "Writes (and write-zeroes) completed by " + what + ".", l, c.writes().ios());
        counter(prefix + "written_bytes_total", "Bytes written by " + what + ".", l, c.writes().sectors() * Bio.SECTOR_BYTES);
        counter(prefix + "write_time_seconds_total", "Seconds spent by writes of " + what + ".", l, c.writes().latencyNanos() / 1e9);
        counter(prefix + "write_errors_total", "Writes of " + what + " that failed.", l, c.writes().errors());
        counter(prefix + "discards_completed_total", "Discards completed by " + what + ".", l, c.discards().ios());
        counter(prefix + "discarded_sectors_total", "Sectors discarded by " + what + ".", l, c.discards().sectors());
        counter(prefix + "flush_requests_total", "Flushes completed by " + what + ".", l, c.flushes().ios());
        gauge(prefix + "io_now", "Requests in flight on " + what + ".", l, c.inFlight());
        IoCounters.Op[] ops = {c.reads(), c.writes(), c.discards(), c.flushes()};
        String name = prefix + "io_duration_seconds";
        Family f = family(name, "histogram", "Latency of requests of " + what + ", by kind.");
        for (int k = 0; k < ops.length; k++) {
            String lk = l.substring(0, l.length() - 1) + ",op=\"" + KINDS[k] + "\"";
            long cumulative = 0;
            long[] buckets = ops[k].latencyBuckets();
            for (int b = 0; b < buckets.length; b++) {
                cumulative += buckets[b];
                long bound = IoCounters.boundMicros(b);
                String le = bound == Long.MAX_VALUE ? "+Inf" : number(bound / 1e6);
                f.samples.add(name + "_bucket" + lk + ",le=\"" + le + "\"} " + cumulative);
            }
            f.samples.add(name + "_sum" + lk + "} " + number(ops[k].latencyNanos() / 1e9));
            f.samples.add(name + "_count" + lk + "} " + ops[k].ios());
        }
    }

    private void gauge(String name, String help, String labels, double value) {
        family(name, "gauge", help).samples.add(name + labels + " " + number(value));
    }

    private void counter(String name, String help, String labels, double value) {
        family(name, "counter", help).samples.add(name + labels + " " + number(value));
    }

    private Family family(String name, String type, String help) {
        return families.computeIfAbsent(name, n -> new Family(help, type, new ArrayList<>()));
    }

    private String text() {
        StringBuilder sb = new StringBuilder();
        families.forEach((name, f) -> {
            sb.append("# HELP ").append(name).append(' ').append(f.help).append('\n');
            sb.append("# TYPE ").append(name).append(' ').append(f.type).append('\n');
            for (String s : f.samples) sb.append(s).append('\n');
        });
        return sb.toString();
    }

    /** {@code {k="v",...}} with values escaped as the format wants (backslash, quote, newline). */
    static String labels(String... kv) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) sb.append(',');
            sb.append(kv[i]).append("=\"").append(kv[i + 1].replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append('"');
        }
        return sb.append('}').toString();
    }

    private static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }
}
