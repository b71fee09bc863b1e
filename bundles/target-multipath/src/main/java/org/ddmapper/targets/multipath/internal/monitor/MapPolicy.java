package org.ddmapper.targets.multipath.internal.monitor;

/**
 * The monitor's settings for one map: the {@code defaults} section overlaid with the map's
 * own {@code multipath} section.
 *
 * @param pathChecker          checker name, or null to pick by path kind (nbd for nbd paths, directio otherwise)
 * @param checkerTimeoutMillis how long a check may take before it counts as TIMEOUT
 * @param failback             when to return to a better group
 * @param noPathRetry          queueing with no path; null leaves the table's queue_if_no_path alone
 * @param flapThreshold        more failures than this within the window hold a path out; 0 = no damping
 * @param flapWindowIntervals  the window, in polling intervals (san_path_err_forget_rate)
 * @param flapHoldMillis       how long a flapping path is held out (san_path_err_recovery_time)
 */
public record MapPolicy(String pathChecker, long checkerTimeoutMillis, Failback failback, NoPathRetry noPathRetry,
                        int flapThreshold, int flapWindowIntervals, long flapHoldMillis) {

    public static final MapPolicy DEFAULTS = new MapPolicy(null, 10_000, new Failback.Manual(), null, 0, 0, 0);

    public boolean dampsFlapping() {
        return flapThreshold > 0 && flapWindowIntervals > 0 && flapHoldMillis > 0;
    }
}
