package org.ddmapper.targets.multipath.internal;

import static org.ddmapper.targets.multipath.internal.Requests.get;
import static org.ddmapper.targets.multipath.internal.Requests.pattern;
import static org.ddmapper.targets.multipath.internal.Requests.read;
import static org.ddmapper.targets.multipath.internal.Requests.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.api.EventPayload;

/** The kernel's failure policy, against scripted paths. */
@Timeout(20)
class FailoverPolicyTest extends TwoScriptedPaths {
    @Test
    void aPathThatFailsThreeTimesThenWorksIsFailedThreeTimesAndNoRequestFails() throws Exception {
        MultipathTarget t = build("0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        a.failNext(3, Errno.ECONNRESET);
        byte[] data = pattern(4096, 7);
        for (int round = 1; round <= 3; round++) {
            for (int i = 0; i < 2; i++) assertEquals(IoStatus.OK, get(write(t, i * 8L, data)));
            assertEquals("2 0 0 0 1 1 A 0 2 0 /p/a F " + round + " /p/b A 0 ", t.status(StatusType.INFO));
            t.message(Message.of("reinstate_path", "/p/a"));
        }
        List<EventPayload> failed = ctx.events(EventKind.PATH_FAILED);
        assertEquals(3, failed.size());
        assertEquals("/p/a", failed.get(2).details().get("path"));
        assertEquals("3", failed.get(2).details().get("fail_count"));
        assertEquals("1", failed.get(2).details().get("valid_paths"));
        assertTrue(failed.get(0).details().get("reason").startsWith("write failed: ECONNRESET"), failed.get(0).details().get("reason"));
        assertEquals(3, ctx.events(EventKind.PATH_REINSTATED).size());
        assertEquals("2", ctx.events(EventKind.PATH_REINSTATED).get(2).details().get("valid_paths"));
        // the script is used up: both paths carry I/O again, the fail count stays
        int before = a.requests().size();
        for (int i = 0; i < 4; i++) assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(512))));
        assertEquals(before + 2, a.requests().size());
        assertEquals("2 0 0 0 1 1 A 0 2 0 /p/a A 3 /p/b A 0 ", t.status(StatusType.INFO));
        // the data is on the storage, whichever path carried it
        ByteBuffer back = ByteBuffer.allocate(4096);
        assertEquals(IoStatus.OK, get(read(t, 8, back)));
        assertArrayEquals(data, back.array());
    }

    @Test
    void storageAnswersReachTheCallerAndFailNoPath() throws Exception {
        MultipathTarget t = build("0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        for (Errno storageSide : new Errno[] {Errno.ENOSPC, Errno.ENODATA, Errno.EOPNOTSUPP, Errno.EINVAL, Errno.EROFS}) {
            a.failAlways(storageSide);
            b.failAlways(storageSide);
            IoStatus s = get(write(t, 0, pattern(512, 1)));
            assertTrue(s.isError());
            assertEquals(storageSide, s.errno());
        }
        assertTrue(ctx.events(EventKind.PATH_FAILED).isEmpty());
        assertEquals(2, t.validPaths());
    }

    @Test
    void everyPathFailingWithoutQueueingFailsTheRequestWithEio() throws Exception {
        MultipathTarget t = build("0 0 1 1 round-robin 0 2 0 /p/a /p/b");
        a.failAlways(Errno.EIO);
        b.failAlways(Errno.ETIMEDOUT);
        IoStatus s = get(read(t, 0, ByteBuffer.allocate(512)));
        assertEquals(Errno.EIO, s.errno());
        assertEquals("multipath: no usable path (2 failed) and queue_if_no_path is off", s.message());
        assertEquals(2, ctx.events(EventKind.PATH_FAILED).size());
        assertEquals("0", ctx.events(EventKind.PATH_FAILED).get(1).details().get("valid_paths"));
    }

    @Test
    void withQueueIfNoPathRequestsWaitAndCompleteWhenAPathReturns() throws Exception {
        MultipathTarget t = build("1 queue_if_no_path 0 1 1 round-robin 0 2 0 /p/a /p/b");
        t.message(Message.of("fail_path", "/p/a"));
        t.message(Message.of("fail_path", "2"));
        List<CompletableFuture<IoStatus>> waiting = new ArrayList<>();
        for (int i = 0; i < 5; i++) waiting.add(write(t, i, pattern(512, i)));
        Thread.sleep(50);
        for (CompletableFuture<IoStatus> f : waiting) assertFalse(f.isDone());
        assertTrue(t.status(StatusType.INFO).startsWith("2 1 0 "), "INFO shows queued I/O");
        assertEquals(5, t.queuedRequests());
        t.message(Message.of("reinstate_path", "/p/b"));
        for (CompletableFuture<IoStatus> f : waiting) assertEquals(IoStatus.OK, get(f));
        assertEquals(0, t.queuedRequests());
        // fail_if_no_path: queued requests fail at once, new ones too
        t.message(Message.of("fail_path", "/p/b"));
        CompletableFuture<IoStatus> parked = read(t, 0, ByteBuffer.allocate(512));
        assertFalse(parked.isDone());
        t.message(Message.of("fail_if_no_path"));
        assertEquals(Errno.EIO, get(parked).errno());
        EventPayload mode = ctx.events(EventKind.QUEUE_MODE_CHANGED).get(0);
        assertEquals("0", mode.details().get("queue_if_no_path"));
        assertEquals("fail_if_no_path message", mode.details().get("reason"));
        assertEquals("0 0 1 1 round-robin 0 2 1 /p/a 1 /p/b 1 ", t.status(StatusType.TABLE));
    }

    @Test
    void aHangingPathIsFailedAfterThePathIoTimeoutAndTheRequestMovesOn() throws Exception {
        MultipathTarget t = build("2 path_io_timeout_msecs 100 0 1 1 round-robin 0 2 0 /p/a /p/b");
        byte[] data = pattern(4096, 3);
        write(t, 0, data).get(5, TimeUnit.SECONDS); // lands on a
        a.holdNext();
        ByteBuffer readBuffer = ByteBuffer.allocate(4096);
        long start = System.nanoTime();
        // round-robin: next goes to b, then a (hangs)
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(4096))));
        CompletableFuture<IoStatus> stuck = read(t, 0, readBuffer);
        assertEquals(IoStatus.OK, get(stuck));
        long stallMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(stallMillis >= 100 && stallMillis < 2000, "stall " + stallMillis + " ms");
        assertArrayEquals(data, readBuffer.array());
        EventPayload failed = ctx.events(EventKind.PATH_FAILED).get(0);
        assertEquals("/p/a", failed.details().get("path"));
        assertEquals("read timed out after 100 ms", failed.details().get("reason"));
        // the hung request wakes up late: it must not touch the caller's buffer or complete it twice
        java.util.Arrays.fill(disk, 0, 4096, (byte) 0x5a);
        a.release();
        assertArrayEquals(data, readBuffer.array());
        assertEquals(1, ctx.events(EventKind.PATH_FAILED).size());
    }

    @Test
    void aLateCompletionOfATimedOutRequestNeitherTouchesTheReusedBufferNorCompletesTwice() throws Exception {
        MultipathTarget t = build("2 path_io_timeout_msecs 100 0 1 1 round-robin 0 2 0 /p/a /p/b");
        byte[] first = pattern(4096, 5);
        assertEquals(IoStatus.OK, get(write(t, 0, first))); // a
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(4096)))); // b
        a.holdNext();
        java.util.concurrent.atomic.AtomicInteger completions = new java.util.concurrent.atomic.AtomicInteger();
        CompletableFuture<IoStatus> done = new CompletableFuture<>();
        ByteBuffer buffer = ByteBuffer.allocate(4096);
        t.map(org.ddmapper.api.Bio.read(0, buffer, s -> {
            completions.incrementAndGet();
            done.complete(s);
        })); // hangs on a, times out, is read again from b
        assertEquals(IoStatus.OK, done.get(5, TimeUnit.SECONDS));
        assertArrayEquals(first, buffer.array());
        // the caller reuses its buffer at once; then the hung path wakes up with other bytes
        byte[] reused = pattern(4096, 6);
        buffer.clear();
        buffer.put(reused);
        java.util.Arrays.fill(disk, 0, 4096, (byte) 0x33);
        assertEquals(1, a.heldCount());
        a.release();
        assertEquals(0, a.heldCount());
        assertArrayEquals(reused, buffer.array(), "the late completion wrote into the caller's reused buffer");
        assertEquals(1, completions.get(), "the caller's request completed twice");
        assertEquals(1, ctx.events(EventKind.PATH_FAILED).size());
    }

    @Test
    void errorsFromAReplacedDeviceDoNotFailTheNewOne() throws Exception {
        MultipathTarget t = build("2 path_io_timeout_msecs 0 0 1 1 round-robin 0 1 0 /p/a");
        a.holdNext();
        CompletableFuture<IoStatus> first = read(t, 0, ByteBuffer.allocate(512));
        MemoryDevice fresh = new MemoryDevice("/p/a", disk);
        t.replaceDevice(t.paths().get(0), fresh, true, "test reconnect", -1);
        // the old device finally errors: the request is retried on the new device, the path stays active
        a.failAlways(Errno.ECONNRESET);
        a.close();
        a.release();
        assertEquals(IoStatus.OK, get(first));
        assertEquals(1, t.validPaths());
        assertTrue(ctx.events(EventKind.PATH_FAILED).isEmpty());
    }

    @Test
    void failingTheLastPathOfTheGroupInUseSwitchesGroupsWithAnEvent() throws Exception {
        MultipathTarget t = build("0 0 2 1 round-robin 0 1 0 /p/a round-robin 0 1 0 /p/b");
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(512))));
        assertEquals(1, a.requests().size());
        a.failNext(1, Errno.EIO);
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(512))));
        assertEquals(1, b.requests().size());
        EventPayload sw = ctx.events(EventKind.PG_SWITCHED).get(0);
        assertEquals("1", sw.details().get("from"));
        assertEquals("2", sw.details().get("to"));
        assertEquals("group 1 has no usable path", sw.details().get("reason"));
        assertEquals("2 0 0 0 2 2 E 0 1 0 /p/a F 1 A 0 1 0 /p/b A 0 ", t.status(StatusType.INFO));
        // the kernel does not fail back by itself: group 2 stays in use after a returns
        t.message(Message.of("reinstate_path", "/p/a"));
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(512))));
        assertEquals(2, b.requests().size());
        t.message(Message.of("switch_group", "1"));
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(512))));
        assertEquals(3, a.requests().size());
        assertEquals("switch_group message", ctx.events(EventKind.PG_SWITCHED).get(1).details().get("reason"));
    }

    @Test
    void aBypassedGroupIsUsedOnlyWhenNothingElseWorks() throws Exception {
        MultipathTarget t = build("0 0 2 1 round-robin 0 1 0 /p/a round-robin 0 1 0 /p/b");
        t.message(Message.of("disable_group", "1"));
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(512))));
        assertEquals(0, a.requests().size());
        assertEquals("2 0 0 0 2 2 D 0 1 0 /p/a A 0 A 0 1 0 /p/b A 0 ", t.status(StatusType.INFO));
        EventPayload bypass = ctx.events(EventKind.PG_BYPASSED).get(0);
        assertEquals("1", bypass.details().get("group"));
        assertEquals("1", bypass.details().get("bypassed"));
        t.message(Message.of("fail_path", "/p/b"));
        assertEquals(IoStatus.OK, get(read(t, 0, ByteBuffer.allocate(512))));
        assertEquals(1, a.requests().size());
        t.message(Message.of("enable_group", "1"));
        assertEquals("0", ctx.events(EventKind.PG_BYPASSED).get(1).details().get("bypassed"));
    }

    @Test
    void noflushSuspendHandsQueuedRequestsBackAndFlushSuspendFailsThem() throws Exception {
        MultipathTarget t = build("1 queue_if_no_path 0 1 1 round-robin 0 1 0 /p/a");
        t.message(Message.of("fail_path", "/p/a"));
        CompletableFuture<IoStatus> q1 = write(t, 0, pattern(512, 1));
        t.presuspend(true);
        assertTrue(get(q1).isRequeue());
        // while suspending with noflush, requests with no path are handed back too
        assertTrue(get(write(t, 0, pattern(512, 1))).isRequeue());
        t.postsuspend();
        t.resume();
        CompletableFuture<IoStatus> q2 = write(t, 0, pattern(512, 2));
        assertFalse(q2.isDone());
        t.presuspend(false);
        assertEquals(Errno.EIO, get(q2).errno());
        assertEquals("1 queue_if_no_path 0 1 1 round-robin 0 1 1 /p/a 1 ", t.status(StatusType.TABLE));
        t.resume();
        CompletableFuture<IoStatus> q3 = write(t, 0, pattern(512, 3));
        assertFalse(q3.isDone(), "queueing is back after resume");
        t.destroy();
        assertEquals(Errno.EIO, get(q3).errno());
    }
}
