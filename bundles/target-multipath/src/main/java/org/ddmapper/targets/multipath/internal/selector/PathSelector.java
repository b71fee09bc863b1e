package org.ddmapper.targets.multipath.internal.selector;

import java.util.List;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.targets.multipath.internal.Path;

/**
 * Chooses a path within one priority group (the kernel's path_selector_type). One instance
 * per group; called under the owning target's lock, so an instance may keep plain state.
 */
public interface PathSelector {

    /** The name tables use: round-robin, queue-length, service-time. */
    String name();

    /** Words each path prints in TABLE output (the kernel's table_args). */
    int tableArgCount();

    /** Words each path prints in INFO output (the kernel's info_args). */
    int infoArgCount();

    /** Reads one path's {@code count} selector arguments. */
    PathArgs parsePathArgs(TableArgs args, int count);

    /** The path for an I/O of {@code bytes} among the active ones of {@code paths}; null when none is active. */
    Path select(List<Path> paths, long bytes);

    /** The path's TABLE words (e.g. its repeat_count). */
    String tableArgs(Path path);

    /** The path's INFO words (e.g. its in-flight count); "" when {@link #infoArgCount()} is 0. */
    String infoArgs(Path path);
}
