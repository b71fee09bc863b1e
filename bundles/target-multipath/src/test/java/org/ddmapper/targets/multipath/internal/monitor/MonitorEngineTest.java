package org.ddmapper.targets.multipath.internal.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathChecker;
import org.ddmapper.spi.PathState;
import org.ddmapper.spi.StatusType;
import org.ddmapper.targets.multipath.internal.MapRegistry;
import org.ddmapper.targets.multipath.internal.MonitorTestSupport;
import org.ddmapper.targets.multipath.internal.MultipathTarget;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.api.EventPayload;

/** The monitor's policies on a fake clock: every verdict, interval and event sequence is deterministic. */
@Timeout(20)
class MonitorEngineTest {
    private long now = 1_000_000;
    private final MonitorTestSupport env = new MonitorTestSupport(64);
    private final Checker checker = new Checker();
    private final List<Long> checkTimes = new ArrayList<>();
    private MonitorEngine engine;

    /** A checker whose verdict per device the test sets (UP unless told otherwise). */
    final class Checker implements PathChecker {
        final Map<BlockDevice, PathState> verdicts = new HashMap<>();
        /** A check of this device waits for the test to complete it. */
        final Map<BlockDevice, CompletableFuture<CheckResult>> held = new HashMap<>();

        @Override public String name() { return "fake"; }

        @Override
        public CompletableFuture<CheckResult> check(BlockDevice path, long timeoutMillis) {
            checkTimes.add(now);
            CompletableFuture<CheckResult> waiting = held.remove(path);
            if (waiting != null) return waiting;
            PathState s = verdicts.getOrDefault(path, PathState.UP);
            return CompletableFuture.completedFuture(new CheckResult(s, "scripted " + s.checkerWord()));
        }
    }

    @AfterEach
    void tearDown() { env.close(); }

    private MultipathTarget start(String conf, String table) {
        MultipathTarget t = startWithoutRunning(conf, table);
        engine.runUntilIdle();
        return t;
    }

    /** The map is live; the monitor's thread has not run yet. */
    private MultipathTarget startWithoutRunning(String conf, String table) {
        MonitorConfig config = MultipathConf.parse(conf, "test.conf");
        assertTrue(config.problems().isEmpty(), config.problems().toString());
        engine = new MonitorEngine(() -> now, config, name -> name.equals("fake") ? checker : null, Runnable::run, () -> {});
        MapRegistry registry = new MapRegistry();
        registry.watch(engine);
        return env.build(table, registry);
    }

    private void advance(long millis) {
        long end = now + millis;
        while (now < end) {
            now = Math.min(end, now + 100);
            engine.runUntilIdle();
        }
    }

    private static String conf(String defaults) {
        return "defaults {\n polling_interval 1\n path_checker fake\n" + defaults + "\n}\n";
    }

    private List<String> kinds() {
        return env.ctx.events().stream().map(e -> e.kind().name()).toList();
    }

    @Test
    void healthyPathsAreCheckedLessOftenUpToTheMaximum() {
        start(conf(" max_polling_interval 4"), "0 0 1 1 round-robin 0 1 0 /p/a");
        advance(16_000);
        List<Long> rel = checkTimes.stream().map(t -> (t - 1_000_000) / 100 * 100).toList();
        assertEquals(List.of(0L, 1000L, 3000L, 7000L, 11000L, 15000L), rel);
    }

    @Test
    void theCheckerFailsADownPathAndReinstatesItWhenUp() {
        MultipathTarget t = start(conf(""), "0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        checker.verdicts.put(env.a, PathState.DOWN);
        env.openable("/p/a", env.a); // a reconnect finds the same dead device
        advance(1000);
        EventPayload failed = env.only(EventKind.PATH_FAILED);
        assertEquals("/p/a", failed.details().get("path"));
        assertEquals("checker fake: faulty (scripted faulty)", failed.details().get("reason"));
        assertTrue(t.message(Message.of("show", "paths")).contains("failed faulty"), t.message(Message.of("show", "paths")));
        checker.verdicts.put(env.a, PathState.UP);
        advance(1000);
        assertEquals("checker fake: ready", env.only(EventKind.PATH_REINSTATED).details().get("reason"));
        assertEquals(2, t.validPaths());
    }

    @Test
    void aDeadDeviceIsReplacedByAFreshlyOpenedOne() throws Exception {
        MultipathTarget t = start(conf(""), "0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        env.a.failAlways(Errno.ECONNRESET);
        checker.verdicts.put(env.a, PathState.DOWN);
        // the server is gone: opening fails
        env.unopenable("/p/a", Errno.ECONNREFUSED);
        for (int i = 0; i < 4; i++) assertEquals(IoStatus.OK, env.read(t, 0));
        advance(3000);
        assertTrue(t.message(Message.of("show", "paths")).contains("reconnect failed"), t.message(Message.of("show", "paths")));
        // the server is back: the monitor opens the reference afresh and puts the new device under the path
        MemoryDevice fresh = env.device("/p/a");
        env.openable("/p/a", fresh);
        advance(1000);
        assertSame(fresh, t.paths().get(0).device());
        assertEquals("reconnected; checker fake: ready", env.only(EventKind.PATH_REINSTATED).details().get("reason"));
        // nothing of the replaced device is in flight any more: it is closed now, not when the table goes
        assertTrue(env.a.isClosed(), "the replaced device (its connection and buffers) is released at once");
        assertTrue(t.message(Message.of("show", "topology")).contains("fail=1 transport=reopened"),
                t.message(Message.of("show", "topology")));
        int before = fresh.requests().size();
        for (int i = 0; i < 4; i++) assertEquals(IoStatus.OK, env.read(t, 0));
        assertEquals(before + 2, fresh.requests().size());
    }

    @Test
    void noPathRetryQueuesForNIntervalsThenFailsAndQueuesAgainWhenAPathReturns() throws Exception {
        MultipathTarget t = start(conf(" no_path_retry 3"), "0 0 1 1 round-robin 0 1 0 /p/a");
        assertTrue(t.queueIfNoPath());
        t.message(Message.of("fail_path", "/p/a"));
        checker.verdicts.put(env.a, PathState.DOWN);
        env.unopenable("/p/a", Errno.ECONNREFUSED);
        CompletableFuture<IoStatus> waiting = env.readAsync(t, 0);
        advance(2900);
        assertFalse(waiting.isDone());
        advance(200);
        IoStatus s = waiting.get(1, TimeUnit.SECONDS);
        assertEquals(Errno.EIO, s.errno());
        assertEquals(Errno.EIO, env.read(t, 0).errno());
        List<EventPayload> modes = env.all(EventKind.QUEUE_MODE_CHANGED);
        assertEquals("no_path_retry 3 (multipath.conf)", modes.get(0).details().get("reason"));
        assertEquals("0", modes.get(1).details().get("queue_if_no_path"));
        assertEquals("no_path_retry 3: no path came back within 3 polling intervals (3 s)", modes.get(1).details().get("reason"));
        checker.verdicts.put(env.a, PathState.UP);
        advance(1000);
        assertEquals("1", env.all(EventKind.QUEUE_MODE_CHANGED).get(2).details().get("queue_if_no_path"));
        assertEquals(IoStatus.OK, env.read(t, 0));
        assertEquals(List.of("QUEUE_MODE_CHANGED", "PATH_FAILED", "QUEUE_MODE_CHANGED", "PATH_REINSTATED", "QUEUE_MODE_CHANGED"), kinds());
    }

    @Test
    void noPathRetryHoldsFromTheMomentTheMapGoesLiveBeforeTheMonitorRuns() throws Exception {
        MultipathTarget t = startWithoutRunning(conf(" no_path_retry 3"), "0 0 1 1 round-robin 0 1 0 /p/a");
        assertTrue(t.queueIfNoPath(), "multipath.conf's no_path_retry, not the table's 0 features");
        checker.verdicts.put(env.a, PathState.DOWN);
        env.unopenable("/p/a", Errno.ECONNREFUSED);
        t.message(Message.of("fail_path", "/p/a"));
        CompletableFuture<IoStatus> waiting = env.readAsync(t, 0);
        assertFalse(waiting.isDone(), "queued, not failed, although the monitor has not looked at the map yet");
        engine.runUntilIdle();
        assertEquals(1, env.all(EventKind.QUEUE_MODE_CHANGED).size(), "applied once");
        advance(3100);
        assertEquals(Errno.EIO, waiting.get(1, TimeUnit.SECONDS).errno());
    }

    @Test
    void aCheckThatSawThePathUpBeforeIoFailedItDoesNotReinstateItButChecksAgain() throws Exception {
        MultipathTarget t = start(conf(""), "0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        CompletableFuture<CheckResult> slowCheck = new CompletableFuture<>();
        checker.held.put(env.a, slowCheck);
        advance(1000); // a's check starts and hangs
        int checksBefore = checkTimes.size();
        env.a.failAlways(Errno.ECONNRESET);
        checker.verdicts.put(env.a, PathState.DOWN);
        env.openable("/p/a", env.a);
        for (int i = 0; i < 2; i++) assertEquals(IoStatus.OK, env.read(t, 0)); // one of them fails a and moves to b
        assertEquals(1, env.all(EventKind.PATH_FAILED).size());
        slowCheck.complete(new CheckResult(PathState.UP, "the read before the failure"));
        engine.runUntilIdle();
        assertTrue(env.all(EventKind.PATH_REINSTATED).isEmpty(), "a stale 'up' reinstated a path I/O had just failed");
        assertEquals(1, t.validPaths());
        assertTrue(checkTimes.size() > checksBefore, "checked again");
        assertTrue(t.message(Message.of("show", "paths")).contains("failed faulty"), t.message(Message.of("show", "paths")));
    }

    @Test
    void noPathRetryFailOverridesTheTablesQueueing() throws Exception {
        MultipathTarget t = start(conf(" no_path_retry fail"), "1 queue_if_no_path 0 1 1 round-robin 0 1 0 /p/a");
        assertEquals("0 0 1 1 round-robin 0 1 1 /p/a 1 ", t.status(StatusType.TABLE));
        t.message(Message.of("fail_path", "/p/a"));
        assertEquals(Errno.EIO, env.read(t, 0).errno());
    }

    @Test
    void noPathRetryQueueWaitsAsLongAsItTakes() throws Exception {
        MultipathTarget t = start(conf(" no_path_retry queue"), "0 0 1 1 round-robin 0 1 0 /p/a");
        t.message(Message.of("fail_path", "/p/a"));
        checker.verdicts.put(env.a, PathState.DOWN);
        env.unopenable("/p/a", Errno.ECONNREFUSED);
        CompletableFuture<IoStatus> waiting = env.readAsync(t, 0);
        advance(120_000);
        assertFalse(waiting.isDone());
        checker.verdicts.put(env.a, PathState.UP);
        advance(1000);
        assertEquals(IoStatus.OK, waiting.get(1, TimeUnit.SECONDS));
    }

    @Test
    void aFlappingPathIsHeldOutWithAnEventSayingWhy() throws Exception {
        MultipathTarget t = start(conf(" san_path_err_threshold 2\n san_path_err_forget_rate 10\n san_path_err_recovery_time 30"),
                "0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        for (int i = 0; i < 3; i++) {
            env.a.failNext(1, Errno.ECONNRESET);
            for (int j = 0; j < 2; j++) assertEquals(IoStatus.OK, env.read(t, 0));
            advance(1000); // the checker finds it up and reinstates it, until the third failure
        }
        EventPayload damped = env.only(EventKind.PATH_DAMPED);
        assertEquals("/p/a", damped.details().get("path"));
        assertEquals("3", damped.details().get("failures"));
        assertEquals("10", damped.details().get("window"));
        assertEquals("30", damped.details().get("hold"));
        assertEquals("failed 3 times in 10 s (more than san_path_err_threshold 2); held out for 30 s", damped.details().get("reason"));
        assertEquals(2, env.all(EventKind.PATH_REINSTATED).size());
        assertTrue(t.message(Message.of("show", "paths")).contains("failed delayed"), t.message(Message.of("show", "paths")));
        advance(28_000);
        assertEquals(2, env.all(EventKind.PATH_REINSTATED).size());
        advance(2_500);
        assertEquals(3, env.all(EventKind.PATH_REINSTATED).size());
        assertEquals(List.of("PATH_FAILED", "PATH_REINSTATED", "PATH_FAILED", "PATH_REINSTATED", "PATH_FAILED", "PATH_DAMPED",
                "PATH_REINSTATED"), kinds());
        assertEquals(2, t.validPaths());
    }

    @Test
    void failbackImmediateReturnsToTheBetterGroupAtOnce() throws Exception {
        MultipathTarget t = start(conf(" failback immediate"), "0 0 2 1 round-robin 0 1 0 /p/a round-robin 0 1 0 /p/b");
        failGroupOneAndMoveToTwo(t);
        advance(1000);
        assertEquals(List.of("PATH_FAILED", "PG_SWITCHED", "PATH_REINSTATED", "PG_SWITCHED"), kinds());
        EventPayload back = env.all(EventKind.PG_SWITCHED).get(1);
        assertEquals("2", back.details().get("from"));
        assertEquals("1", back.details().get("to"));
        assertEquals("failback immediate: group 1 is usable again", back.details().get("reason"));
        assertEquals(1, t.groupInUse());
    }

    @Test
    void failbackManualStaysOnTheGroupInUse() throws Exception {
        MultipathTarget t = start(conf(" failback manual"), "0 0 2 1 round-robin 0 1 0 /p/a round-robin 0 1 0 /p/b");
        failGroupOneAndMoveToTwo(t);
        advance(10_000);
        assertEquals(List.of("PATH_FAILED", "PG_SWITCHED", "PATH_REINSTATED"), kinds());
        assertEquals(2, t.groupInUse());
    }

    @Test
    void failbackAfterNSecondsWaitsThatLong() throws Exception {
        MultipathTarget t = start(conf(" failback 5"), "0 0 2 1 round-robin 0 1 0 /p/a round-robin 0 1 0 /p/b");
        failGroupOneAndMoveToTwo(t);
        advance(1000);
        assertEquals(List.of("PATH_FAILED", "PG_SWITCHED", "PATH_REINSTATED"), kinds());
        advance(4_000);
        assertEquals(2, t.groupInUse());
        advance(1_000);
        assertEquals(1, t.groupInUse());
        assertEquals("failback 5: a better group has been usable for 5 s", env.all(EventKind.PG_SWITCHED).get(1).details().get("reason"));
    }

    @Test
    void failbackFolloweroverOnlyWhenTheFirstPathOfAGroupReturns() throws Exception {
        MultipathTarget t = start(conf(" failback followover"),
                "0 0 2 1 round-robin 0 2 0 /p/a /p/c round-robin 0 1 0 /p/b");
        // another node moved the map to group 2 while group 1 still had a path: a returning path does not pull it back
        t.message(Message.of("fail_path", "/p/a"));
        t.message(Message.of("switch_group", "2"));
        assertEquals(IoStatus.OK, env.read(t, 0));
        advance(1000);
        assertEquals(2, t.groupInUse());
        // every path of group 1 goes, then the first one returns: fail back
        t.message(Message.of("fail_path", "/p/a"));
        t.message(Message.of("fail_path", "/p/c"));
        checker.verdicts.put(env.a, PathState.DOWN);
        checker.verdicts.put(env.c, PathState.DOWN);
        env.unopenable("/p/a", Errno.ECONNREFUSED);
        env.unopenable("/p/c", Errno.ECONNREFUSED);
        advance(1000);
        checker.verdicts.put(env.a, PathState.UP);
        advance(1000);
        assertEquals(1, t.groupInUse());
        assertEquals("failback followover: the first path of group 1 returned", env.all(EventKind.PG_SWITCHED).get(1).details().get("reason"));
    }

    /** Path a (group 1) fails on I/O, I/O moves to group 2, the checker finds a up again within a second. */
    private void failGroupOneAndMoveToTwo(MultipathTarget t) throws Exception {
        assertEquals(IoStatus.OK, env.read(t, 0));
        env.a.failNext(1, Errno.ECONNRESET);
        assertEquals(IoStatus.OK, env.read(t, 0));
        assertEquals(2, t.groupInUse());
    }

    @Test
    void aMissingCheckerLeavesPathsAloneAndSaysSo() {
        MultipathTarget t = start("defaults {\n polling_interval 1\n path_checker tur\n}\n", "0 0 1 1 round-robin 0 1 0 /p/a");
        advance(3000);
        assertTrue(t.message(Message.of("show", "paths")).contains("checker 'tur' is not registered"));
        assertEquals(1, t.validPaths());
        assertTrue(engine.daemonStatus().startsWith("path monitor: maps=1 paths=1 active=1"), engine.daemonStatus());
    }

    static ByteBuffer sector() { return ByteBuffer.allocate(Bio.SECTOR_BYTES); }

    @Test
    void aReconnectWhilePathFailedAgainIsDroppedAndThePathCheckedAfresh() throws Exception {
        MultipathTarget t = start(conf(""), "0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        checker.verdicts.put(env.a, PathState.DOWN);
        MemoryDevice fresh = env.device("/p/a");
        // while the monitor dials /p/a, an operator reinstates the path and I/O fails it again
        env.openWith("/p/a", ref -> {
            t.reinstatePath(t.paths().get(0), "reinstate_path message", -1);
            t.failPath(t.paths().get(0), "read failed: ECONNRESET");
            return fresh;
        });
        advance(1000);
        assertEquals(2, t.failCount(t.paths().get(0)));
        assertTrue(fresh.isClosed(), "the connection dialled before the new failure is dropped");
        assertSame(env.a, t.paths().get(0).device());
        assertFalse(t.paths().get(0).isActive());
        assertEquals(List.of("PATH_FAILED", "PATH_REINSTATED", "PATH_FAILED"), kinds());
    }
}
