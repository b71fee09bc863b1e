package org.ddmapper.targets.multipath.internal.selector;

import java.util.List;
import org.ddmapper.spi.TableArgs;
import org.tinylog.Logger;

/** The selector names a table may use, and the per-path argument grammar they share. */
public final class PathSelectors {
    public static final List<String> NAMES = List.of("round-robin", "queue-length", "service-time");

    private PathSelectors() {}

    /** A new selector for one group; {@code name} is one of {@link #NAMES}. */
    public static PathSelector create(String name) {
        return switch (name) {
            case "round-robin" -> new RoundRobinSelector();
            case "queue-length" -> new QueueLengthSelector();
            case "service-time" -> new ServiceTimeSelector();
            default -> throw new IllegalArgumentException("unknown path selector " + name);
        };
    }

    /** Reads {@code [repeat_count [relative_throughput]]}; {@code maxArgs} is what the selector takes. */
    static PathArgs parse(String selector, TableArgs args, int count, int maxArgs) {
        if (count > maxArgs)
            throw args.error(selector + " takes at most " + maxArgs + " argument" + (maxArgs == 1 ? "" : "s")
                    + " per path, got " + count);
        int repeat = 1;
        int throughput = 1;
        if (count >= 1) {
            long r = args.nextUnsigned(selector + " repeat_count", 0xFFFF_FFFFL);
            if (r > 1) Logger.warn("{}: repeat_count {} is deprecated, using 1", selector, r);
        }
        if (count >= 2) throughput = args.nextInt(selector + " relative_throughput", 0, 100);
        return new PathArgs(repeat, throughput);
    }
}
