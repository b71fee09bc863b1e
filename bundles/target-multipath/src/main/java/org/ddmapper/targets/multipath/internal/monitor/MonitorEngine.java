package org.ddmapper.targets.multipath.internal.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.BlockDeviceProvider;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.spi.PathState;
import org.ddmapper.targets.multipath.internal.MapWatcher;
import org.ddmapper.targets.multipath.internal.MonitoredMap;
import org.ddmapper.targets.multipath.internal.Path;
import org.tinylog.Logger;

/**
 * The path monitor's logic (multipathd's checker loop), in one thread of its own:
 * <ul>
 * <li>checks each path with its checker when due: every {@code polling_interval} at first,
 *     doubling while the path stays healthy up to {@code max_polling_interval}; any change
 *     goes back to {@code polling_interval};</li>
 * <li>fails an active path the checker finds down (or timed out); reinstates a failed path it
 *     finds up; when a failed path's own device stays down, opens the path's reference afresh
 *     (an NBD reconnect) and, if the new device checks up, puts it under the path;</li>
 * <li>holds out a path that failed more than {@code san_path_err_threshold} times within
 *     {@code san_path_err_forget_rate} intervals, for {@code san_path_err_recovery_time}
 *     seconds (event PATH_DAMPED saying why);</li>
 * <li>applies {@code no_path_retry} (fail, queue, or queue for N intervals then fail) and
 *     {@code failback} (manual, immediate, followover, N seconds).</li>
 * </ul>
 * Everything that arrives from other threads (maps coming and going, path failures seen by
 * I/O, check and reconnect outcomes) is posted to an inbox and handled here, so the state
 * below needs no locks. Checks run asynchronously; reconnects (which block in a connect and
 * handshake) run on their own executor. Nothing here blocks the data path or the control plane.
 */
public final class MonitorEngine implements MapWatcher {

    /** Milliseconds from some fixed point (a fake one in tests). */
    public interface Clock {
        long millis();
    }

    private final Clock clock;
    private final Function<String, PathChecker> checkers;
    private final Executor reopenExecutor;
    private final Runnable wake;
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    private final MonitorReports reports;
    private final Map<MonitoredMap, MapState> maps = new LinkedHashMap<>();
    private volatile MonitorConfig config;

    public MonitorEngine(Clock clock, MonitorConfig config, Function<String, PathChecker> checkers, Executor reopenExecutor,
                         Runnable wake) {
        this.clock = clock;
        this.config = config;
        this.checkers = checkers;
        this.reopenExecutor = reopenExecutor;
        this.wake = wake;
        this.reports = new MonitorReports(clock.millis());
    }

    // ------------------------------------------------------------ inputs (any thread)

    @Override
    public void mapAdded(MonitoredMap map) {
        // At once, on the thread that makes the map live: I/O that finds no path in its first moments
        // already follows multipath.conf's no_path_retry instead of the table's mode.
        MapState.applyNoPathRetry(map, config.policyFor(map.name()), false);
        post(() -> added(map));
    }

    @Override
    public void mapRemoved(MonitoredMap map) {
        post(() -> {
            MapState ms = maps.remove(map);
            if (ms != null) ms.paths.forEach(pw -> reports.forget(pw.path));
        });
    }

    @Override
    public void pathFailed(MonitoredMap map, Path path, String reason, boolean byOperator) {
        post(() -> failed(map, path, byOperator));
    }

    @Override
    public void pathReinstated(MonitoredMap map, Path path, String reason) {
        post(() -> reinstated(map, path));
    }

    @Override
    public PathReport report(MonitoredMap map, Path path) { return reports.report(path, clock.millis()); }

    @Override
    public String daemonStatus() { return reports.daemonLine(); }

    /** A new configuration (multipath.conf changed); applied to every map on the engine thread. */
    public void reconfigure(MonitorConfig next) {
        post(() -> {
            config = next;
            for (MapState ms : maps.values()) applyPolicy(ms, clock.millis());
            Logger.info("path monitor: configuration from {} applied{}", next.source(),
                    next.problems().isEmpty() ? "" : " with problems: " + String.join("; ", next.problems()));
        });
    }

    public MonitorConfig config() { return config; }

    /** Runs {@code task} on the engine thread. */
    public void post(Runnable task) {
        inbox.add(task);
        wake.run();
    }

    public boolean hasInput() { return !inbox.isEmpty(); }

    // ------------------------------------------------------------ the loop body (engine thread)

    /** Handles everything posted, then everything due; returns when something is next due (clock millis). */
    public long runOnce() {
        Runnable task;
        while ((task = inbox.poll()) != null) {
            try {
                task.run();
            } catch (RuntimeException e) {
                Logger.error(e, "path monitor: task failed");
            }
        }
        long now = clock.millis();
        long next = now + 1000;
        for (MapState ms : new ArrayList<>(maps.values())) {
            try {
                next = Math.min(next, tick(ms, now));
            } catch (RuntimeException e) {
                Logger.error(e, "path monitor: map {} failed its tick", ms.map.name());
            }
        }
        reports.update(maps.values(), config);
        return next;
    }

    /** Runs until nothing is posted (tests, with a direct executor and completed checks). */
    public void runUntilIdle() {
        do {
            runOnce();
        } while (hasInput());
    }

    private long tick(MapState ms, long now) {
        if (ms.map.isSuspended()) return now + 1000;
        long next = Long.MAX_VALUE;
        for (PathWatch pw : ms.paths) {
            if (!pw.checking && now >= pw.nextCheck) startCheck(ms, pw, now);
            if (!pw.checking) next = Math.min(next, pw.nextCheck);
        }
        if (ms.retryDeadline >= 0) {
            if (now >= ms.retryDeadline) {
                ms.retryDeadline = -1;
                if (ms.map.validPaths() == 0 && ms.policy.noPathRetry() instanceof NoPathRetry.Retry r) {
                    ms.queueStoppedByRetry = true;
                    ms.map.setQueueIfNoPath(false, "no_path_retry " + r.intervals() + ": no path came back within "
                            + r.intervals() + " polling intervals (" + MonitorReports.seconds(r.intervals() * config.pollingIntervalMillis()) + " s)");
                }
            } else {
                next = Math.min(next, ms.retryDeadline);
            }
        }
        if (ms.failbackAt >= 0) {
            if (now >= ms.failbackAt) {
                ms.failbackAt = -1;
                if (ms.policy.failback() instanceof Failback.Deferred d)
                    ms.failBackIfBetter("failback " + d.seconds() + ": a better group has been usable for " + d.seconds() + " s");
            } else {
                next = Math.min(next, ms.failbackAt);
            }
        }
        return next;
    }

    // ------------------------------------------------------------ maps and policy

    private void added(MonitoredMap map) {
        if (maps.containsKey(map)) return;
        MapState ms = new MapState(map);
        long now = clock.millis();
        for (Path p : map.paths()) {
            PathWatch pw = new PathWatch(p);
            pw.nextCheck = now;
            pw.interval = config.pollingIntervalMillis();
            ms.paths.add(pw);
            reports.publish(pw, now);
        }
        maps.put(map, ms);
        applyPolicy(ms, now);
        if (map.validPaths() == 0) ms.noPathLeft(now, config.pollingIntervalMillis());
    }

    private void applyPolicy(MapState ms, long now) {
        ms.policy = config.policyFor(ms.map.name());
        MapState.applyNoPathRetry(ms.map, ms.policy, ms.queueStoppedByRetry);
        for (PathWatch pw : ms.paths) pw.interval = Math.min(pw.interval, config.maxPollingIntervalMillis());
    }

    private void failed(MonitoredMap map, Path path, boolean byOperator) {
        MapState ms = maps.get(map);
        if (ms == null) return;
        long now = clock.millis();
        PathWatch pw = watch(ms, path);
        pw.interval = config.pollingIntervalMillis();
        if (!pw.checking) pw.nextCheck = Math.min(pw.nextCheck, now + pw.interval);
        if (!byOperator) pw.failures.add(now);
        if (map.validPaths() == 0) ms.noPathLeft(now, config.pollingIntervalMillis());
        reports.publish(pw, now);
    }

    private void reinstated(MonitoredMap map, Path path) {
        MapState ms = maps.get(map);
        if (ms == null) return;
        long now = clock.millis();
        PathWatch pw = watch(ms, path);
        pw.interval = config.pollingIntervalMillis();
        ms.pathCameBack();
        ms.failback(path, now);
        reports.publish(pw, now);
    }

    // ------------------------------------------------------------ checks

    private void startCheck(MapState ms, PathWatch pw, long now) {
        PathChecker checker = checkerFor(ms, pw);
        pw.dueAt = pw.nextCheck;
        BlockDevice device = pw.path.device();
        if (checker == null) {
            pw.last = new CheckResult(PathState.UNCHECKED, "checker '" + pw.checker + "' is not registered");
            pw.nextCheck = now + config.pollingIntervalMillis();
            reports.publish(pw, now);
            return;
        }
        if (device == null) {
            pw.last = new CheckResult(PathState.DOWN, "no open device" + (pw.reopenError == null ? "" : ": " + pw.reopenError));
            pw.nextCheck = now + config.pollingIntervalMillis();
            startReopen(ms, pw, checker, now);
            reports.publish(pw, now);
            return;
        }
        pw.checking = true;
        pw.failuresAtCheck = ms.map.failCount(pw.path);
        CompletableFuture<CheckResult> f;
        try {
            f = checker.check(device, ms.policy.checkerTimeoutMillis());
        } catch (RuntimeException e) {
            f = CompletableFuture.completedFuture(new CheckResult(PathState.WILD, "checker failed: " + e));
        }
        String name = pw.checker;
        f.whenComplete((result, error) -> post(() -> {
            if (checkers.apply(name) != checker) { // its bundle was updated or stopped meanwhile: the answer says nothing about the path
                pw.checking = false;
                pw.nextCheck = clock.millis();
                return;
            }
            checked(ms, pw, device, name, error != null ? new CheckResult(PathState.WILD, "checker failed: " + error) : result);
        }));
    }

    private PathChecker checkerFor(MapState ms, PathWatch pw) {
        String name = ms.policy.pathChecker();
        if (name == null) {
            String scheme = BlockDeviceProvider.schemeOf(pw.path.reference());
            name = scheme.startsWith("nbd") ? "nbd" : "directio";
        }
        pw.checker = name;
        return checkers.apply(name);
    }

    private void checked(MapState ms, PathWatch pw, BlockDevice device, String checker, CheckResult result) {
        pw.checking = false;
        if (maps.get(ms.map) != ms) return;
        long now = clock.millis();
        reports.checked(now - pw.dueAt, now, config.pollingIntervalMillis());
        Path p = pw.path;
        if (device != p.device()) { // replaced while checking: check the new one now
            pw.nextCheck = now;
            return;
        }
        boolean changed = pw.last == null || pw.last.state() != result.state();
        pw.last = result;
        long polling = config.pollingIntervalMillis();
        switch (verdict(result.state())) {
            case GOOD -> {
                if (p.isActive()) {
                    pw.interval = changed ? polling : Math.min(2 * pw.interval, config.maxPollingIntervalMillis());
                } else if (ms.map.failCount(p) != pw.failuresAtCheck) {
                    // I/O failed the path while the check ran: "up" may describe the moment before; check again
                    pw.nextCheck = now;
                    reports.publish(pw, now);
                    return;
                } else {
                    pw.interval = polling;
                    if (!reinstate(ms, pw, null, checker, result, now, pw.failuresAtCheck)) {
                        pw.nextCheck = now; // failed again between the look and the reinstate: check again
                        reports.publish(pw, now);
                        return;
                    }
                }
            }
            case BAD -> {
                pw.interval = polling;
                if (p.isActive()) ms.map.failPath(p, "checker " + checker + ": " + result.state().checkerWord()
                        + (result.message() == null || result.message().isEmpty() ? "" : " (" + result.message() + ")"));
                PathChecker c = checkers.apply(checker);
                if (c != null && !ms.map.isSuspended()) startReopen(ms, pw, c, now);
            }
            case NEUTRAL -> pw.interval = polling;
        }
        pw.nextCheck = Math.max(now + pw.interval, pw.heldUntil);
        reports.publish(pw, now);
    }

    private enum Verdict { GOOD, BAD, NEUTRAL }

    private static Verdict verdict(PathState s) {
        return switch (s) {
            case UP, GHOST, SHAKY -> Verdict.GOOD;
            case DOWN, TIMEOUT, DISCONNECTED, REMOVED -> Verdict.BAD;
            case WILD, UNCHECKED, PENDING, DELAYED -> Verdict.NEUTRAL;
        };
    }

    /**
     * Reinstates a path the checker found up (with a fresh device when {@code fresh} is set),
     * unless damping holds it out. Refused (false; a fresh device is closed) when the path's fail
     * count is no longer {@code expectedFailCount}: I/O failed it again while the check or
     * reconnect ran, so "up" may describe the moment before. The map checks that under its lock.
     */
    private boolean reinstate(MapState ms, PathWatch pw, BlockDevice fresh, String checker, CheckResult result, long now,
                              int expectedFailCount) {
        boolean held = pw.heldOut(ms.policy, config.pollingIntervalMillis(), now, ms.map);
        String reason = (fresh != null ? "reconnected; " : "") + "checker " + checker + ": " + result.state().checkerWord();
        if (fresh != null) {
            if (!ms.map.replaceDevice(pw.path, fresh, !held, reason, expectedFailCount)) return false;
            reports.reconnected();
        } else if (!held) {
            if (!ms.map.reinstatePath(pw.path, reason, expectedFailCount)) return false;
        }
        if (held) pw.nextCheck = Math.max(pw.nextCheck, pw.heldUntil);
        return true;
    }

    // ------------------------------------------------------------ reconnects

    private void startReopen(MapState ms, PathWatch pw, PathChecker checker, long now) {
        if (pw.reopening || now < pw.nextReopen) return;
        pw.reopening = true;
        pw.nextReopen = now + config.pollingIntervalMillis();
        pw.failuresAtReopen = ms.map.failCount(pw.path);
        MonitoredMap map = ms.map;
        Path path = pw.path;
        long timeout = ms.policy.checkerTimeoutMillis();
        String name = pw.checker;
        try {
            reopenExecutor.execute(() -> {
                BlockDevice fresh = null;
                CheckResult result = null;
                String error = null;
                try {
                    fresh = map.reopen(path);
                    result = checker.check(fresh, timeout).get(timeout + 1000, TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    error = e.getMessage() == null ? e.toString() : e.getMessage();
                }
                BlockDevice d = fresh;
                CheckResult r = result;
                String err = error;
                post(() -> reopened(ms, pw, d, name, r, err));
            });
        } catch (RuntimeException e) {
            pw.reopening = false;
            pw.reopenError = "could not start a reconnect: " + e.getMessage();
        }
    }

    private void reopened(MapState ms, PathWatch pw, BlockDevice fresh, String checker, CheckResult result, String error) {
        pw.reopening = false;
        long now = clock.millis();
        boolean useful = fresh != null && result != null && verdict(result.state()) == Verdict.GOOD;
        if (maps.get(ms.map) != ms || !useful || pw.path.isActive() || ms.map.isSuspended()) {
            if (fresh != null) closeQuietly(fresh);
            pw.reopenError = error != null ? "reconnect failed: " + error
                    : result != null && !useful ? "reconnected device checks " + result.state().checkerWord() : null;
            reports.publish(pw, now);
            return;
        }
        pw.reopenError = null;
        pw.interval = config.pollingIntervalMillis();
        if (ms.map.failCount(pw.path) != pw.failuresAtReopen
                || !reinstate(ms, pw, fresh, checker, result, now, pw.failuresAtReopen)) {
            // the path failed again (reinstated and failed by I/O) while we dialled: the new
            // connection's "up" may describe the moment before; drop it and check afresh
            closeQuietly(fresh);
            pw.nextCheck = now;
            reports.publish(pw, now);
            return;
        }
        pw.last = result;
        pw.nextCheck = Math.max(now + pw.interval, pw.heldUntil);
        reports.publish(pw, now);
    }

    private static void closeQuietly(BlockDevice d) {
        try {
            d.close();
        } catch (RuntimeException e) {
            Logger.debug("closing {}: {}", d.reference(), e.getMessage());
        }
    }

    // ------------------------------------------------------------ views

    private PathWatch watch(MapState ms, Path path) {
        return ms.paths.get(path.number() - 1);
    }
}
