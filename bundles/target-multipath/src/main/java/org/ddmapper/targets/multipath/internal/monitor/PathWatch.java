package org.ddmapper.targets.multipath.internal.monitor;

import java.util.ArrayDeque;
import org.ddmapper.api.EventPayload;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.targets.multipath.internal.MonitoredMap;
import org.ddmapper.targets.multipath.internal.Path;

/**
 * What the monitor keeps about one path between checks: when it is due and at what interval, the
 * last verdict and the checker that gave it, the fail count seen when a check or reconnect began
 * (to tell whether I/O failed the path meanwhile), a reconnect under way, and flap damping (the
 * recent failures it counts, and until when it holds the path out). Touched only on the monitor's thread.
 */
final class PathWatch {
    final Path path;
    long nextCheck;
    long dueAt;
    int failuresAtCheck;
    int failuresAtReopen;
    long interval;
    boolean checking;
    boolean reopening;
    long nextReopen;
    CheckResult last;
    String checker = "none";
    String reopenError;
    final ArrayDeque<Long> failures = new ArrayDeque<>();
    long heldUntil;

    PathWatch(Path path) { this.path = path; }

    /**
     * Flap damping: whether the path must stay out now. A hold starts (raising PATH_DAMPED on
     * {@code map}) when it failed more than san_path_err_threshold times within the window.
     */
    boolean heldOut(MapPolicy policy, long pollingMillis, long now, MonitoredMap map) {
        if (!policy.dampsFlapping()) return false;
        if (heldUntil > 0) {
            if (now < heldUntil) return true;
            heldUntil = 0;
            failures.clear();
            return false;
        }
        long window = policy.flapWindowIntervals() * pollingMillis;
        while (!failures.isEmpty() && failures.peekFirst() < now - window) failures.pollFirst();
        if (failures.size() <= policy.flapThreshold()) return false;
        heldUntil = now + policy.flapHoldMillis();
        String reason = "failed " + failures.size() + " times in " + MonitorReports.seconds(window) + " s (more than san_path_err_threshold "
                + policy.flapThreshold() + "); held out for " + MonitorReports.seconds(policy.flapHoldMillis()) + " s";
        map.raise(new EventPayload.PathDamped(path.reference(), path.number(), failures.size(), window, policy.flapHoldMillis(), reason));
        return true;
    }
}
