package org.ddmapper.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.IoStatus;

/**
 * The I/O statistics of one mapped device: its own {@link IoStats} (every request it completed,
 * counted where the core completes it) and one per underlying device reference its tables opened
 * (counted by the {@link CountedDevice} wrapper). Underlying counters are kept by reference, so a
 * path reopened after a reconnect or a table swap that keeps a device continues its counts.
 */
public final class DeviceCounters {
    /** Framework property: {@code off} keeps no statistics at all (for measuring what they cost); anything else, or unset, keeps them. */
    public static final String PROPERTY = "ddmapper.core.stats";
    /** Whether statistics are kept; set once at the core's start, before any device exists. */
    static boolean enabled = true;

    private final IoStats own = new IoStats();
    private final ConcurrentHashMap<String, IoStats> lower = new ConcurrentHashMap<>();

    /** Keeps statistics or not, from the framework property's value (null: keep them). */
    public static void configure(String value) { enabled = !"off".equals(value); }

    /** The start time of a request, when statistics are kept. */
    static long start() { return enabled ? System.nanoTime() : 0; }

    /** A request of this device completed with {@code status}; it started at {@code startNanos}. */
    void completed(Bio bio, IoStatus status, long startNanos) {
        if (enabled) own.done(bio.op(), bio.lengthSectors(), status.isError(), startNanos);
    }

    /** {@code device}, opened for one of this device's tables, counting into the counters of its reference. */
    BlockDevice counting(BlockDevice device) {
        if (!enabled) return device;
        return new CountedDevice(device, lower.computeIfAbsent(device.reference(), r -> new IoStats()));
    }

    /** A reading: the device's counters with {@code inFlight}, and those of {@code deps} (the references its live table uses). */
    DeviceStats snapshot(String name, long id, long inFlight, List<String> deps) {
        List<DeviceStats.Lower> out = new ArrayList<>();
        for (String ref : deps) {
            IoStats s = lower.get(ref);
            if (s != null) out.add(new DeviceStats.Lower(ref, s.snapshot(-1)));
        }
        return new DeviceStats(name, id, own.snapshot(inFlight), out);
    }
}
