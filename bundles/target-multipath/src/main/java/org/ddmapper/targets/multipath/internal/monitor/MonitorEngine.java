package org.ddmapper.targets.multipath.internal.monitor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.EventPayload;
import org.ddmapper.spi.BlockDeviceProvider;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.spi.PathState;
import org.ddmapper.targets.multipath.MapRegistry;
import org.ddmapper.targets.multipath.internal.MapWatcher;
import org.ddmapper.targets.multipath.internal.MultipathTarget;
import org.ddmapper.targets.multipath.internal.Path;
import org.ddmapper.targets.multipath.internal.PriorityGroup;
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
public final class MonitorEngine implements MapRegistry.Listener, MapWatcher {

    /** Milliseconds from some fixed point (a fake one in tests). */
    public interface Clock {
        long millis();
    }

    private final Clock clock;
    private final Function<String, PathChecker> checkers;
    private final Executor reopenExecutor;
    private final Runnable wake;
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    private final Map<Path, Report> reports = new ConcurrentHashMap<>();
    private final Map<MultipathTarget, MapState> maps = new LinkedHashMap<>();
    private volatile MonitorConfig config;
    private volatile String daemonLine = "path monitor: starting";
    private long checksDone;
    private long reconnects;
    private long lagWindowStart;
    private long lagMaxThisWindow;
    private long lagMaxLastWindow;

    /** What status views show of a path; written here, read by message threads. */
    private record Report(String checker, String state, String message, long nextCheckAtMillis) {}

    private static final class MapState {
        final MultipathTarget map;
        final List<PathWatch> paths = new ArrayList<>();
        MapPolicy policy;
        long noPathSince = -1;
        long retryDeadline = -1;
        boolean queueStoppedByRetry;
        long failbackAt = -1;

        MapState(MultipathTarget map) { this.map = map; }
    }

    private static final class PathWatch {
        final Path path;
        long nextCheck;
        long dueAt;
        int failuresAtCheck;
        int failuresAtReopen;
        long interval;
        boolean checking;
        boolean reopening;
        long nextReopen;
        CheckResult last;
        String checker = "none";
        String reopenError;
        final ArrayDeque<Long> failures = new ArrayDeque<>();
        long heldUntil;

        PathWatch(Path path) { this.path = path; }
    }

    public MonitorEngine(Clock clock, MonitorConfig config, Function<String, PathChecker> checkers, Executor reopenExecutor,
                         Runnable wake) {
        this.clock = clock;
        this.config = config;
        this.checkers = checkers;
        this.reopenExecutor = reopenExecutor;
        this.wake = wake;
        this.lagWindowStart = clock.millis();
    }

    // ------------------------------------------------------------ inputs (any thread)

    @Override
    public void mapAdded(MultipathTarget map) {
        map.watcher(this);
        // At once, on the thread that makes the map live: I/O that finds no path in its first moments
        // already follows multipath.conf's no_path_retry instead of the table's mode.
        applyNoPathRetry(map, config.policyFor(map.name()), false);
        post(() -> added(map));
    }

    @Override
    public void mapRemoved(MultipathTarget map) {
        post(() -> {
            MapState ms = maps.remove(map);
            if (ms != null) ms.paths.forEach(pw -> reports.remove(pw.path));
        });
    }

    @Override
    public void pathFailed(MultipathTarget map, Path path, String reason, boolean byOperator) {
        post(() -> failed(map, path, byOperator));
    }

    @Override
    public void pathReinstated(MultipathTarget map, Path path, String reason) {
        post(() -> reinstated(map, path));
    }

    @Override
    public PathReport report(MultipathTarget map, Path path) {
        Report r = reports.get(path);
        if (r == null) return new PathReport("none", "undef", "not checked yet", -1);
        long next = r.nextCheckAtMillis() < 0 ? -1 : Math.max(0, (r.nextCheckAtMillis() - clock.millis() + 999) / 1000);
        return new PathReport(r.checker(), r.state(), r.message(), next);
    }

    @Override
    public String daemonStatus() { return daemonLine; }

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
        updateDaemonLine(now);
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
                            + r.intervals() + " polling intervals (" + seconds(r.intervals() * config.pollingIntervalMillis()) + " s)");
                }
            } else {
                next = Math.min(next, ms.retryDeadline);
            }
        }
        if (ms.failbackAt >= 0) {
            if (now >= ms.failbackAt) {
                ms.failbackAt = -1;
                if (ms.policy.failback() instanceof Failback.Deferred d)
                    failBackIfBetter(ms, "failback " + d.seconds() + ": a better group has been usable for " + d.seconds() + " s");
            } else {
                next = Math.min(next, ms.failbackAt);
            }
        }
        return next;
    }

    // ------------------------------------------------------------ maps and policy

    private void added(MultipathTarget map) {
        if (maps.containsKey(map)) return;
        MapState ms = new MapState(map);
        long now = clock.millis();
        for (Path p : map.paths()) {
            PathWatch pw = new PathWatch(p);
            pw.nextCheck = now;
            pw.interval = config.pollingIntervalMillis();
            ms.paths.add(pw);
            publish(pw, now);
        }
        maps.put(map, ms);
        applyPolicy(ms, now);
        if (map.validPaths() == 0) noPathLeft(ms, now);
    }

    private void applyPolicy(MapState ms, long now) {
        ms.policy = config.policyFor(ms.map.name());
        applyNoPathRetry(ms.map, ms.policy, ms.queueStoppedByRetry);
        for (PathWatch pw : ms.paths) pw.interval = Math.min(pw.interval, config.maxPollingIntervalMillis());
    }

    /** Sets the map's queue_if_no_path as no_path_retry says (unless a retry count ran out: then it stays off). */
    private static void applyNoPathRetry(MultipathTarget map, MapPolicy policy, boolean queueStoppedByRetry) {
        NoPathRetry retry = policy.noPathRetry();
        if (retry instanceof NoPathRetry.Fail) {
            map.setQueueIfNoPath(false, "no_path_retry fail (multipath.conf)");
        } else if (retry != null && !queueStoppedByRetry) {
            map.setQueueIfNoPath(true, "no_path_retry " + retry.word() + " (multipath.conf)");
        }
    }

    private void noPathLeft(MapState ms, long now) {
        if (ms.noPathSince >= 0) return;
        ms.noPathSince = now;
        if (ms.policy.noPathRetry() instanceof NoPathRetry.Retry r)
            ms.retryDeadline = now + r.intervals() * config.pollingIntervalMillis();
    }

    private void failed(MultipathTarget map, Path path, boolean byOperator) {
        MapState ms = maps.get(map);
        if (ms == null) return;
        long now = clock.millis();
        PathWatch pw = watch(ms, path);
        pw.interval = config.pollingIntervalMillis();
        if (!pw.checking) pw.nextCheck = Math.min(pw.nextCheck, now + pw.interval);
        if (!byOperator) pw.failures.add(now);
        if (map.validPaths() == 0) noPathLeft(ms, now);
        publish(pw, now);
    }

    private void reinstated(MultipathTarget map, Path path) {
        MapState ms = maps.get(map);
        if (ms == null) return;
        long now = clock.millis();
        PathWatch pw = watch(ms, path);
        pw.interval = config.pollingIntervalMillis();
        if (ms.noPathSince >= 0) {
            ms.noPathSince = -1;
            ms.retryDeadline = -1;
            if (ms.queueStoppedByRetry) {
                ms.queueStoppedByRetry = false;
                ms.map.setQueueIfNoPath(true, "a path returned; no_path_retry " + ms.policy.noPathRetry().word() + " queues again");
            }
        }
        failback(ms, path, now);
        publish(pw, now);
    }

    private void failback(MapState ms, Path path, long now) {
        int best = bestGroup(ms.map);
        int inUse = ms.map.groupInUse();
        if (best == 0 || inUse == 0 || best >= inUse) return;
        Failback policy = ms.policy.failback();
        if (policy instanceof Failback.Immediate) {
            ms.map.switchGroup(best, "failback immediate: group " + best + " is usable again");
        } else if (policy instanceof Failback.Followover) {
            PriorityGroup g = path.group();
            if (g.number() == best && g.activePaths() == 1)
                ms.map.switchGroup(best, "failback followover: the first path of group " + best + " returned");
        } else if (policy instanceof Failback.Deferred d) {
            if (ms.failbackAt < 0) ms.failbackAt = now + d.seconds() * 1000;
        }
    }

    private void failBackIfBetter(MapState ms, String reason) {
        int best = bestGroup(ms.map);
        int inUse = ms.map.groupInUse();
        if (best != 0 && inUse != 0 && best < inUse) ms.map.switchGroup(best, reason);
    }

    /** The first group that is not bypassed and has an active path (groups are in priority order); 0 when none. */
    private static int bestGroup(MultipathTarget map) {
        for (PriorityGroup g : map.groups()) if (!g.isBypassed() && g.activePaths() > 0) return g.number();
        return 0;
    }

    // ------------------------------------------------------------ checks

    private void startCheck(MapState ms, PathWatch pw, long now) {
        PathChecker checker = checkerFor(ms, pw);
        pw.dueAt = pw.nextCheck;
        BlockDevice device = pw.path.device();
        if (checker == null) {
            pw.last = new CheckResult(PathState.UNCHECKED, "checker '" + pw.checker + "' is not registered");
            pw.nextCheck = now + config.pollingIntervalMillis();
            publish(pw, now);
            return;
        }
        if (device == null) {
            pw.last = new CheckResult(PathState.DOWN, "no open device" + (pw.reopenError == null ? "" : ": " + pw.reopenError));
            pw.nextCheck = now + config.pollingIntervalMillis();
            startReopen(ms, pw, checker, now);
            publish(pw, now);
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
        recordLag(now - pw.dueAt, now);
        checksDone++;
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
                    publish(pw, now);
                    return;
                } else {
                    pw.interval = polling;
                    if (!reinstate(ms, pw, null, checker, result, now, pw.failuresAtCheck)) {
                        pw.nextCheck = now; // failed again between the look and the reinstate: check again
                        publish(pw, now);
                        return;
                    }
                }
            }
            case BAD -> {
                pw.interval = polling;
                if (p.isActive()) ms.map.failPath(p, "checker " + checker + ": " + result.state().checkerWord()
                        + (result.message() == null || result.message().isEmpty() ? "" : " (" + result.message() + ")"), false);
                PathChecker c = checkers.apply(checker);
                if (c != null && !ms.map.isSuspended()) startReopen(ms, pw, c, now);
            }
            case NEUTRAL -> pw.interval = polling;
        }
        pw.nextCheck = Math.max(now + pw.interval, pw.heldUntil);
        publish(pw, now);
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
        boolean held = held(ms, pw, now);
        String reason = (fresh != null ? "reconnected; " : "") + "checker " + checker + ": " + result.state().checkerWord();
        if (fresh != null) {
            if (!ms.map.replaceDevice(pw.path, fresh, !held, reason, expectedFailCount, "reopened")) return false;
            reconnects++;
        } else if (!held) {
            if (!ms.map.reinstatePath(pw.path, reason, expectedFailCount)) return false;
        }
        if (held) pw.nextCheck = Math.max(pw.nextCheck, pw.heldUntil);
        return true;
    }

    /** Flap damping: whether the path must stay out now (raising PATH_DAMPED when a hold starts). */
    private boolean held(MapState ms, PathWatch pw, long now) {
        MapPolicy policy = ms.policy;
        if (!policy.dampsFlapping()) return false;
        if (pw.heldUntil > 0) {
            if (now < pw.heldUntil) return true;
            pw.heldUntil = 0;
            pw.failures.clear();
            return false;
        }
        long window = policy.flapWindowIntervals() * config.pollingIntervalMillis();
        while (!pw.failures.isEmpty() && pw.failures.peekFirst() < now - window) pw.failures.pollFirst();
        if (pw.failures.size() <= policy.flapThreshold()) return false;
        pw.heldUntil = now + policy.flapHoldMillis();
        String reason = "failed " + pw.failures.size() + " times in " + seconds(window) + " s (more than san_path_err_threshold "
                + policy.flapThreshold() + "); held out for " + seconds(policy.flapHoldMillis()) + " s";
        ms.map.raise(new EventPayload.PathDamped(pw.path.reference(), pw.path.number(), pw.failures.size(), window,
                policy.flapHoldMillis(), reason));
        return true;
    }

    // ------------------------------------------------------------ reconnects

    private void startReopen(MapState ms, PathWatch pw, PathChecker checker, long now) {
        if (pw.reopening || now < pw.nextReopen) return;
        pw.reopening = true;
        pw.nextReopen = now + config.pollingIntervalMillis();
        pw.failuresAtReopen = ms.map.failCount(pw.path);
        MultipathTarget map = ms.map;
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
            publish(pw, now);
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
            publish(pw, now);
            return;
        }
        pw.last = result;
        pw.nextCheck = Math.max(now + pw.interval, pw.heldUntil);
        publish(pw, now);
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

    private void publish(PathWatch pw, long now) {
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

    private void recordLag(long lagMillis, long now) {
        if (now - lagWindowStart >= config.pollingIntervalMillis()) {
            lagMaxLastWindow = lagMaxThisWindow;
            lagMaxThisWindow = 0;
            lagWindowStart = now;
        }
        lagMaxThisWindow = Math.max(lagMaxThisWindow, lagMillis);
    }

    private void updateDaemonLine(long now) {
        int paths = 0;
        int active = 0;
        for (MapState ms : maps.values()) {
            paths += ms.paths.size();
            for (PathWatch pw : ms.paths) if (pw.path.isActive()) active++;
        }
        MonitorConfig c = config;
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
