package org.ddmapper.targets.multipath.internal.monitor;

import java.util.ArrayList;
import java.util.List;
import org.ddmapper.targets.multipath.internal.MonitoredMap;
import org.ddmapper.targets.multipath.internal.Path;
import org.ddmapper.targets.multipath.internal.PriorityGroup;

/**
 * What the monitor keeps about one map and the map-wide policies it applies: its paths' watches
 * (in path-number order), the policy multipath.conf gives it, {@code no_path_retry} (since when no
 * path is left, when the retries run out) and {@code failback} (immediate, followover, or deferred
 * by N seconds). Touched only on the monitor's thread.
 */
final class MapState {
    final MonitoredMap map;
    final List<PathWatch> paths = new ArrayList<>();
    MapPolicy policy;
    long noPathSince = -1;
    long retryDeadline = -1;
    boolean queueStoppedByRetry;
    long failbackAt = -1;

    MapState(MonitoredMap map) { this.map = map; }

    /** Sets the map's queue_if_no_path as no_path_retry says (unless a retry count ran out: then it stays off). */
    static void applyNoPathRetry(MonitoredMap map, MapPolicy policy, boolean queueStoppedByRetry) {
        NoPathRetry retry = policy.noPathRetry();
        if (retry instanceof NoPathRetry.Fail) {
            map.setQueueIfNoPath(false, "no_path_retry fail (multipath.conf)");
        } else if (retry != null && !queueStoppedByRetry) {
            map.setQueueIfNoPath(true, "no_path_retry " + retry.word() + " (multipath.conf)");
        }
    }

    /** The map lost its last path: a no_path_retry count starts. */
    void noPathLeft(long now, long pollingMillis) {
        if (noPathSince >= 0) return;
        noPathSince = now;
        if (policy.noPathRetry() instanceof NoPathRetry.Retry r) retryDeadline = now + r.intervals() * pollingMillis;
    }

    /** A path came back: the retry count stops, and queueing a count switched off comes back on. */
    void pathCameBack() {
        if (noPathSince < 0) return;
        noPathSince = -1;
        retryDeadline = -1;
        if (queueStoppedByRetry) {
            queueStoppedByRetry = false;
            map.setQueueIfNoPath(true, "a path returned; no_path_retry " + policy.noPathRetry().word() + " queues again");
        }
    }

    /** {@code path} came back: switches to a better group now, when the first path of it returns, or later, as failback says. */
    void failback(Path path, long now) {
        int best = bestGroup();
        int inUse = map.groupInUse();
        if (best == 0 || inUse == 0 || best >= inUse) return;
        Failback fb = policy.failback();
        if (fb instanceof Failback.Immediate) {
            map.switchGroup(best, "failback immediate: group " + best + " is usable again");
        } else if (fb instanceof Failback.Followover) {
            PriorityGroup g = path.group();
            if (g.number() == best && g.activePaths() == 1)
                map.switchGroup(best, "failback followover: the first path of group " + best + " returned");
        } else if (fb instanceof Failback.Deferred d) {
            if (failbackAt < 0) failbackAt = now + d.seconds() * 1000;
        }
    }

    /** Switches to the best usable group if it is better than the one in use (a deferred failback fell due). */
    void failBackIfBetter(String reason) {
        int best = bestGroup();
        int inUse = map.groupInUse();
        if (best != 0 && inUse != 0 && best < inUse) map.switchGroup(best, reason);
    }

    /** The first group that is not bypassed and has an active path (groups are in priority order); 0 when none. */
    private int bestGroup() {
        for (PriorityGroup g : map.groups()) if (!g.isBypassed() && g.activePaths() > 0) return g.number();
        return 0;
    }
}
