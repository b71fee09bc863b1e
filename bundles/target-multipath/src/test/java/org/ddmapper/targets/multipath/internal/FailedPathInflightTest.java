package org.ddmapper.targets.multipath.internal;

import static org.ddmapper.targets.multipath.internal.Requests.get;
import static org.ddmapper.targets.multipath.internal.Requests.pattern;
import static org.ddmapper.targets.multipath.internal.Requests.read;
import static org.ddmapper.targets.multipath.internal.Requests.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.api.EventPayload;

/**
 * What happens to requests in flight on a path that fails, to a device replaced under a path,
 * to events raised by racing threads, and to messages racing a suspend.
 */
@Timeout(30)
class FailedPathInflightTest extends TwoScriptedPaths {
    /** Sends a request while only /p/a is active, so it is in flight (hung) on /p/a; then /p/b is back. */
    private CompletableFuture<IoStatus> hungOnA(MultipathTarget t, java.util.function.Supplier<CompletableFuture<IoStatus>> send) {
        t.message(Message.of("fail_path", "/p/b"));
        a.holdNext();
        CompletableFuture<IoStatus> f = send.get();
        assertEquals(1, a.heldCount());
        t.message(Message.of("reinstate_path", "/p/b"));
        return f;
    }

    @Test
    void failPathSendsTheRequestsInFlightOnItDownAnotherPathAtOnce() throws Exception {
        // the default path I/O timeout (30 s) is in force: without the retry the write would wait for it
        MultipathTarget t = build("0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        byte[] data = pattern(4096, 3);
        CompletableFuture<IoStatus> w = hungOnA(t, () -> write(t, 8, data));
        assertFalse(w.isDone());
        long start = System.nanoTime();
        t.message(Message.of("fail_path", "/p/a"));
        assertEquals(IoStatus.OK, w.get(5, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
        EventPayload failed = ctx.events(EventKind.PATH_FAILED).get(1);
        assertEquals("/p/a", failed.details().get("path"));
        assertEquals("fail_path message", failed.details().get("reason"));
        assertEquals("1", failed.details().get("retried"));
        assertEquals(0, t.paths().get(0).inflightCount());
        // the data is on the storage (written through /p/b)
        ByteBuffer back = ByteBuffer.allocate(4096);
        assertEquals(IoStatus.OK, get(read(t, 8, back)));
        assertArrayEquals(data, back.array());
        // the failed path wakes up: its late answer changes nothing, no second failure
        a.release();
        assertEquals(2, ctx.events(EventKind.PATH_FAILED).size());
        assertEquals("2 0 0 0 1 1 A 0 2 0 /p/a F 1 /p/b A 1 ", t.status(StatusType.INFO));
    }

    @Test
    void aCheckerFailureRetriesAHungReadAndTheLateAnswerNeverReachesTheCallersBuffer() throws Exception {
        MultipathTarget t = build("0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        byte[] data = pattern(512, 9);
        System.arraycopy(data, 0, disk, 0, 512);
        ByteBuffer buffer = ByteBuffer.allocate(512);
        AtomicInteger completions = new AtomicInteger();
        CompletableFuture<IoStatus> r = hungOnA(t, () -> {
            CompletableFuture<IoStatus> f = new CompletableFuture<>();
            t.map(Bio.read(0, buffer, s -> {
                completions.incrementAndGet();
                f.complete(s);
            }));
            return f;
        });
        t.failPath(t.paths().get(0), "checker nbd: faulty"); // what the monitor calls
        assertEquals(IoStatus.OK, r.get(5, TimeUnit.SECONDS));
        assertArrayEquals(data, buffer.array());
        byte[] reused = pattern(512, 77);
        buffer.clear();
        buffer.put(reused);
        System.arraycopy(pattern(512, 1), 0, disk, 0, 512); // what the late answer would carry
        a.release();
        assertArrayEquals(reused, buffer.array(), "the late answer wrote into the caller's reused buffer");
        assertEquals(1, completions.get());
    }

    @Test
    void withoutAPathTimeoutADataRequestWaitsForTheFailedPathsOwnAnswer() throws Exception {
        // no private buffer: giving up on it would let a late answer write into the caller's buffer
        MultipathTarget t = build("2 path_io_timeout_msecs 0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        CompletableFuture<IoStatus> r = hungOnA(t, () -> read(t, 0, ByteBuffer.allocate(512)));
        t.message(Message.of("fail_path", "/p/a"));
        assertEquals("0", ctx.events(EventKind.PATH_FAILED).get(1).details().get("retried"));
        assertFalse(r.isDone());
        a.release();
        assertEquals(IoStatus.OK, get(r));
    }

    @Test
    void aReplacedDeviceIsClosedOnceItsLastRequestEnds() throws Exception {
        MultipathTarget t = build("2 path_io_timeout_msecs 0 0 1 1 round-robin 0 1 0 /p/a");
        a.holdNext();
        CompletableFuture<IoStatus> r = read(t, 0, ByteBuffer.allocate(512));
        MemoryDevice fresh = new MemoryDevice("/p/a", disk);
        t.replaceDevice(t.paths().get(0), fresh, true, "test reconnect", -1);
        assertFalse(a.isClosed(), "a request is still in flight on it");
        assertEquals(1, t.paths().get(0).retiringCount());
        a.release();
        assertEquals(IoStatus.OK, get(r));
        assertTrue(a.isClosed());
        assertEquals(0, t.paths().get(0).retiringCount());
        // and a device whose requests were retried elsewhere when its path failed goes at once
        MemoryDevice third = new MemoryDevice("/p/a", disk);
        t.failPath(t.paths().get(0), "test");
        t.replaceDevice(t.paths().get(0), third, true, "test reconnect", -1);
        assertTrue(fresh.isClosed());
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(512))));
        t.destroy();
        assertTrue(third.isClosed());
    }

    @Test
    void eventsComeOutInTheOrderOfTheStateChangesWhenAFailureRacesAReinstate() throws Exception {
        List<String> notices = new CopyOnWriteArrayList<>();
        MapRegistry registry = new MapRegistry();
        registry.watch(new MapWatcher() {
            @Override public void mapAdded(MonitoredMap m) {}

            @Override public void mapRemoved(MonitoredMap m) {}

            @Override public void pathFailed(MonitoredMap m, Path p, String reason, boolean byOperator) { notices.add("failed"); }

            @Override public void pathReinstated(MonitoredMap m, Path p, String reason) { notices.add("reinstated"); }

            @Override public PathReport report(MonitoredMap m, Path p) { return PathReport.NONE; }
        });
        MultipathTarget t = MultipathTarget.create(ctx, ctx.args(MultipathTarget.TYPE, "0 0 1 1 round-robin 0 2 0 /p/a /p/b"), registry);
        t.resume();
        CountDownLatch failedRaising = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        AtomicBoolean first = new AtomicBoolean(true);
        ctx.beforeRecord(e -> {
            // the thread that failed the path is held between its state change and its event
            if (e.kind() == EventKind.PATH_FAILED && first.getAndSet(false)) {
                failedRaising.countDown();
                await(letGo);
            }
        });
        Thread io = new Thread(() -> t.failPath(t.paths().get(0), "write failed: ECONNRESET"), "io");
        io.start();
        assertTrue(failedRaising.await(10, TimeUnit.SECONDS));
        // meanwhile an operator reinstates the path: its state change comes second
        Thread op = new Thread(() -> t.message(Message.of("reinstate_path", "/p/a")), "operator");
        op.start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        // read under the map's lock: the reinstate has changed the state (its event waits behind the failure's)
        while (!t.status(StatusType.INFO).contains("/p/a A 1") && System.nanoTime() < end) Thread.onSpinWait();
        assertEquals("2 1 0 0 1 1 E 0 2 0 /p/a A 1 /p/b A 0 ", t.status(StatusType.INFO));
        letGo.countDown();
        io.join(10_000);
        op.join(10_000);
        List<String> kinds = ctx.events().stream().map(e -> e.kind().name()).toList();
        assertEquals(List.of("PATH_FAILED", "PATH_REINSTATED"), kinds);
        assertEquals(List.of("failed", "reinstated"), notices);
    }

    @Test
    void aReconnectThatASuspendOvertakesIsRefusedAndChangesNothing() throws Exception {
        MultipathTarget t = build("0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        t.message(Message.of("fail_path", "/p/b"));
        MemoryDevice adopted = new MemoryDevice("/p/b", disk);
        ctx.adopting(adopted);
        // the suspend comes while the message does its slow part (the handshake on the socket)
        ctx.duringAdopt(() -> t.presuspend(true));
        DmException e = assertThrows(DmException.class, () -> t.message(new Message(List.of("reconnect_path", "2"), null,
                List.of(MessagesTest.fakeFd(new AtomicBoolean())), 0)));
        assertEquals(Errno.EBUSY, e.errno());
        assertEquals("multipath: 'reconnect_path' refused: the device is suspended", e.getMessage());
        assertTrue(adopted.isClosed());
        assertEquals(b, t.paths().get(1).device());
        assertFalse(t.paths().get(1).isActive());
        assertTrue(ctx.events(EventKind.PATH_REINSTATED).isEmpty());
    }

    private static void await(CountDownLatch l) {
        try {
            l.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static IoStatus join(CompletableFuture<IoStatus> f) {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
