package org.ddmapper.api;

import java.util.List;

/**
 * A mapped device's I/O statistics ({@link DeviceManager#stats}): the counters of the requests it
 * served ({@code device}), and for each device its live table uses now (a file, an NBD path, a
 * lower mapped device) the counters of the requests its targets sent there, in the order of
 * {@code deps}. An underlying device's counters start when the device is first opened by one of
 * this device's tables and last while the mapped device does, across table swaps and reconnects.
 */
public record DeviceStats(String name, long id, IoCounters device, List<Lower> lower) {
    public DeviceStats { lower = List.copyOf(lower); }

    /** The counters of one underlying device, by its reference as the table wrote it. */
    public record Lower(String reference, IoCounters counters) {}
}
