package org.ddmapper.targets.multipath.internal.selector;

import java.util.List;
import org.ddmapper.targets.multipath.internal.Path;

/**
 * The shared search of the load-balancing selectors (queue-length, service-time): the active path
 * whose load compares lowest, trying the paths from a start that moves on at every I/O, so that
 * paths with equal load take turns. Called under the owning target's lock, like every selector.
 */
abstract class LeastLoadedSelector implements PathSelector {
    private int start;

    /** Negative when {@code a} would serve an I/O of {@code bytes} sooner than {@code b}. */
    abstract long compareLoad(Path a, Path b, long bytes);

    /** Whether no other path can beat {@code p} (the search stops there). Default: never. */
    boolean unbeatable(Path p) { return false; }

    @Override
    public final Path select(List<Path> paths, long bytes) {
        int n = paths.size();
        start = (start + 1) % n;
        Path best = null;
        for (int i = 0; i < n; i++) {
            Path p = paths.get((start + i) % n);
            if (!p.isActive()) continue;
            if (best == null || compareLoad(p, best, bytes) < 0) best = p;
            if (unbeatable(best)) break;
        }
        return best;
    }
}
