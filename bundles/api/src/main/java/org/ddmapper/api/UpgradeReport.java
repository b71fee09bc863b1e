package org.ddmapper.api;

import java.util.List;

/**
 * What a finished live upgrade did.
 *
 * @param bundle         the bundle's symbolic name
 * @param fromVersion    the version that ran before
 * @param toVersion      the version that runs now
 * @param devices        the devices rebuilt on the new code (for a checker: the multipath devices it may check), by name
 * @param maxStallMillis the longest time one of those devices held its I/O during the swap
 * @param tookMillis     the whole upgrade, from staging to the new jar in the bundle directory
 */
public record UpgradeReport(String bundle, String fromVersion, String toVersion, List<String> devices, long maxStallMillis,
                            long tookMillis) {

    public UpgradeReport {
        devices = List.copyOf(devices);
    }
}
