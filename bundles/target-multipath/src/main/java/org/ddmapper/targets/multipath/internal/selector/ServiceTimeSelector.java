package org.ddmapper.targets.multipath.internal.selector;

import org.ddmapper.spi.TableArgs;
import org.ddmapper.targets.multipath.internal.Path;

/**
 * service-time: the active path with the least (bytes in flight + this I/O) / relative
 * throughput, compared exactly as the kernel's st_compare_load does; ties rotate.
 */
final class ServiceTimeSelector extends LeastLoadedSelector {

    @Override public String name() { return "service-time"; }

    @Override public int tableArgCount() { return 2; }

    @Override public int infoArgCount() { return 2; }

    @Override
    public PathArgs parsePathArgs(TableArgs args, int count) {
        return PathSelectors.parse(name(), args, count, 2);
    }

    /** Negative when {@code a} serves an I/O of {@code incoming} bytes sooner than {@code b}. */
    @Override
    long compareLoad(Path a, Path b, long incoming) {
        long sz1 = a.inflightBytes();
        long sz2 = b.inflightBytes();
        int t1 = a.selectorArgs().relativeThroughput();
        int t2 = b.selectorArgs().relativeThroughput();
        if (t1 == t2) return sz1 - sz2;
        if (sz1 == sz2 || t1 == 0 || t2 == 0) return t2 - t1;
        long st1 = (sz1 + incoming) * t2;
        long st2 = (sz2 + incoming) * t1;
        if (st1 != st2) return st1 - st2;
        return t2 - t1;
    }

    @Override
    public String tableArgs(Path path) {
        return path.selectorArgs().repeatCount() + " " + path.selectorArgs().relativeThroughput();
    }

    @Override
    public String infoArgs(Path path) {
        return path.inflightBytes() + " " + path.selectorArgs().relativeThroughput();
    }
}
