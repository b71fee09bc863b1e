package org.ddmapper.targets.multipath.internal.monitor;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.ddmapper.spi.PathState;
import org.ddmapper.targets.multipath.internal.MapWatcher.PathReport;
import org.ddmapper.targets.multipath.internal.Path;

/**
 * What the status views show of the monitor: per path, the checker's last verdict and when the
 * next check is due ({@code show paths}), and the monitor-wide line of {@code show daemon} (maps,
 * paths, checks done, reconnects, the check cycle's lag). Written on the monitor's thread, read by
 * message threads: the per-path reports are in a concurrent map, the daemon line is one volatile string.
 */
final class MonitorReports {
    /** What status views show of a path. */
    private record Report(String checker, String state, String message, long nextCheckAtMillis) {}

    private final Map<Path, Report> reports = new ConcurrentHashMap<>();
    private volatile String daemonLine = "path monitor: starting";
    private long checksDone;
    private long reconnects;
    private long lagWindowStart;
    private long lagMaxThisWindow;
    private long lagMaxLastWindow;

    MonitorReports(long nowMillis) { this.lagWindowStart = nowMillis; }

    /** A path's report, with the seconds to its next check counted from {@code nowMillis}. */
    PathReport report(Path path, long nowMillis) {
        Report r = reports.get(path);
        if (r == null) return new PathReport("none", "undef", "not checked yet", -1);
        long next = r.nextCheckAtMillis() < 0 ? -1 : Math.max(0, (r.nextCheckAtMillis() - nowMillis + 999) / 1000);
        return new PathReport(r.checker(), r.state(), r.message(), next);
    }

    void forget(Path path) { reports.remove(path); }

    /** Writes what a path's watch says now as its report. */
    void publish(PathWatch pw, long now) {
        String state;
        String message;
        if (pw.heldUntil > now) {
            state = PathState.DELAYED.checkerWord();
            message = "held out by flap damping for " + seconds(pw.heldUntil - now) + " s more";
        } else if (pw.last == null) {
            state = "undef";
            message = "not checked yet";
        } else {
            state = pw.last.state().checkerWord();
            message = pw.last.message() == null ? "" : pw.last.message();
        }
        if (pw.reopenError != null && !pw.path.isActive()) message = message.isEmpty() ? pw.reopenError : message + "; " + pw.reopenError;
        reports.put(pw.path, new Report(pw.checker, state, message, pw.checking ? -1 : pw.nextCheck));
    }

    /** A check answered {@code lagMillis} after it was due; the largest lag of a polling interval is the check cycle. */
    void checked(long lagMillis, long now, long pollingMillis) {
        checksDone++;
        if (now - lagWindowStart >= pollingMillis) {
            lagMaxLastWindow = lagMaxThisWindow;
            lagMaxThisWindow = 0;
            lagWindowStart = now;
        }
        lagMaxThisWindow = Math.max(lagMaxThisWindow, lagMillis);
    }

    void reconnected() { reconnects++; }

    String daemonLine() { return daemonLine; }

    /** Writes the daemon line anew from the maps watched now. */
    void update(Collection<MapState> maps, MonitorConfig c) {
        int paths = 0;
        int active = 0;
        for (MapState ms : maps) {
            paths += ms.paths.size();
            for (PathWatch pw : ms.paths) if (pw.path.isActive()) active++;
        }
        daemonLine = "path monitor: maps=" + maps.size() + " paths=" + paths + " active=" + active + " checks=" + checksDone
                + " reconnects=" + reconnects + " polling_interval=" + seconds(c.pollingIntervalMillis())
                + " max_polling_interval=" + seconds(c.maxPollingIntervalMillis())
                + " check_cycle_ms=" + Math.max(lagMaxLastWindow, lagMaxThisWindow)
                + " config=" + c.source() + (c.problems().isEmpty() ? "" : " problems=" + c.problems().size()) + "\n";
    }

    /** Seconds for messages: whole when whole, else with the fraction. */
    static String seconds(long millis) {
        return millis % 1000 == 0 ? Long.toString(millis / 1000) : Double.toString(millis / 1000.0);
    }
}
