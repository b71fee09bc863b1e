package org.ddmapper.targets.multipath.internal.selector;

import java.util.List;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.targets.multipath.internal.Path;

/** queue-length: the active path with the fewest requests in flight; ties rotate. */
final class QueueLengthSelector implements PathSelector {
    private int start;

    @Override public String name() { return "queue-length"; }

    @Override public int tableArgCount() { return 1; }

    @Override public int infoArgCount() { return 1; }

    @Override
    public PathArgs parsePathArgs(TableArgs args, int count) {
        return PathSelectors.parse(name(), args, count, 1);
    }

    @Override
    public Path select(List<Path> paths, long bytes) {
        int n = paths.size();
        start = (start + 1) % n;
        Path best = null;
        for (int i = 0; i < n; i++) {
            Path p = paths.get((start + i) % n);
            if (!p.isActive()) continue;
            if (best == null || p.inflightCount() < best.inflightCount()) best = p;
            if (best.inflightCount() == 0) break;
        }
        return best;
    }

    @Override public String tableArgs(Path path) { return Integer.toString(path.selectorArgs().repeatCount()); }

    @Override public String infoArgs(Path path) { return Integer.toString(path.inflightCount()); }
}
