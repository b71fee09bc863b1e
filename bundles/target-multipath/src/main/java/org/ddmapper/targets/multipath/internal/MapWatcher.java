package org.ddmapper.targets.multipath.internal;

/**
 * What a multipath map tells the path monitor, and asks it for status views. Called on I/O
 * and message threads: implementations return at once.
 */
public interface MapWatcher {

    /** A path failed ({@code byOperator}: a fail_path message). */
    void pathFailed(MultipathTarget map, Path path, String reason, boolean byOperator);

    /** A path was reinstated. */
    void pathReinstated(MultipathTarget map, Path path, String reason);

    /** The checker's view of a path, for status views. */
    PathReport report(MultipathTarget map, Path path);

    /** Monitor-wide numbers for {@code show daemon}. */
    default String daemonStatus() { return "path monitor: not running"; }

    /** The checker's view of a path: checker name, verdict word, its reason, seconds to the next check (-1 unknown). */
    record PathReport(String checker, String state, String message, long nextCheckSeconds) {
        public static final PathReport NONE = new PathReport("none", "undef", "no path monitor", -1);
    }

    MapWatcher NONE = new MapWatcher() {
        @Override public void pathFailed(MultipathTarget map, Path path, String reason, boolean byOperator) {}

        @Override public void pathReinstated(MultipathTarget map, Path path, String reason) {}

        @Override public PathReport report(MultipathTarget map, Path path) { return PathReport.NONE; }
    };
}
