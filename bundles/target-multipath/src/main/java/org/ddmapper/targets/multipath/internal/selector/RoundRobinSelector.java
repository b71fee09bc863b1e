package org.ddmapper.targets.multipath.internal.selector;

import java.util.List;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.targets.multipath.internal.Path;

/** round-robin: each I/O to the next active path in turn. */
final class RoundRobinSelector implements PathSelector {
    private int cursor;

    @Override public String name() { return "round-robin"; }

    @Override public int tableArgCount() { return 1; }

    @Override public int infoArgCount() { return 0; }

    @Override
    public PathArgs parsePathArgs(TableArgs args, int count) {
        return PathSelectors.parse(name(), args, count, 1);
    }

    @Override
    public Path select(List<Path> paths, long bytes) {
        int n = paths.size();
        for (int i = 0; i < n; i++) {
            Path p = paths.get(Math.floorMod(cursor + i, n));
            if (p.isActive()) {
                cursor = Math.floorMod(cursor + i + 1, n);
                return p;
            }
        }
        return null;
    }

    @Override public String tableArgs(Path path) { return Integer.toString(path.selectorArgs().repeatCount()); }

    @Override public String infoArgs(Path path) { return ""; }
}
