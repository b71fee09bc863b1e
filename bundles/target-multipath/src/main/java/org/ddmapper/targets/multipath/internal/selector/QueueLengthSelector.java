package org.ddmapper.targets.multipath.internal.selector;

import org.ddmapper.spi.TableArgs;
import org.ddmapper.targets.multipath.internal.Path;

/** queue-length: the active path with the fewest requests in flight; ties rotate. */
final class QueueLengthSelector extends LeastLoadedSelector {

    @Override public String name() { return "queue-length"; }

    @Override public int tableArgCount() { return 1; }

    @Override public int infoArgCount() { return 1; }

    @Override
    public PathArgs parsePathArgs(TableArgs args, int count) {
        return PathSelectors.parse(name(), args, count, 1);
    }

    @Override
    long compareLoad(Path a, Path b, long bytes) { return a.inflightCount() - b.inflightCount(); }

    @Override
    boolean unbeatable(Path p) { return p.inflightCount() == 0; }

    @Override public String tableArgs(Path path) { return Integer.toString(path.selectorArgs().repeatCount()); }

    @Override public String infoArgs(Path path) { return Integer.toString(path.inflightCount()); }
}
