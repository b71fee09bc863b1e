package org.ddmapper.targets.multipath.internal;

/**
 * The path monitor as the maps see it: it hears maps come and go and their paths fail and come
 * back, and answers status views with what its checkers found. Called on I/O, message and
 * resume threads: implementations return at once.
 */
public interface MapWatcher {

    /** A map went live (called on the thread that resumed it). */
    void mapAdded(MonitoredMap map);

    /** A map was destroyed. */
    void mapRemoved(MonitoredMap map);

    /** A path failed ({@code byOperator}: a fail_path message). */
    void pathFailed(MonitoredMap map, Path path, String reason, boolean byOperator);

    /** A path was reinstated. */
    void pathReinstated(MonitoredMap map, Path path, String reason);

    /** The checker's view of a path, for status views. */
    PathReport report(MonitoredMap map, Path path);

    /** Monitor-wide numbers for {@code show daemon}. */
    default String daemonStatus() { return "path monitor: not running"; }

    /** The checker's view of a path: checker name, verdict word, its reason, seconds to the next check (-1 unknown). */
    record PathReport(String checker, String state, String message, long nextCheckSeconds) {
        public static final PathReport NONE = new PathReport("none", "undef", "no path monitor", -1);
    }

    /** No monitor: nothing is heard, nothing checked. */
    MapWatcher NONE = new MapWatcher() {
        @Override public void mapAdded(MonitoredMap map) {}

        @Override public void mapRemoved(MonitoredMap map) {}

        @Override public void pathFailed(MonitoredMap map, Path path, String reason, boolean byOperator) {}

        @Override public void pathReinstated(MonitoredMap map, Path path, String reason) {}

        @Override public PathReport report(MonitoredMap map, Path path) { return PathReport.NONE; }
    };
}
