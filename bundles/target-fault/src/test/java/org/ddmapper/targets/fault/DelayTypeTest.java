package org.ddmapper.targets.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.spi.testkit.MemoryDevice.Request;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(10)
class DelayTypeTest {
    /** Long enough that nothing held is released by its timer during a test. */
    private static final String LONG = "60000";

    private final MemoryDevice a = new MemoryDevice("/a", 1024);
    private final MemoryDevice b = new MemoryDevice("/b", 1024);
    private final MemoryDevice c = new MemoryDevice("/c", 1024);
    private final FakeTargetContext context = new FakeTargetContext(256, a, b, c);

    @AfterEach
    void stopScheduler() { context.close(); }

    private Target create(String words) {
        return new DelayType().create(context, context.args("delay", words));
    }

    private static Completion read(Target t, long sector) {
        Completion done = new Completion();
        t.map(Bio.read(sector, ByteBuffer.allocate(512), done));
        return done;
    }

    @Test
    void holdsWithoutBlockingTheCallerAndPresuspendReleasesAtOnce() {
        Target delay = create("/a 100 " + LONG);
        long before = System.nanoTime();
        Completion done = read(delay, 7);
        assertTrue(System.nanoTime() - before < 1_000_000_000L, "map returned at once");
        assertFalse(done.isDone());
        assertEquals("1 0 0", delay.status(StatusType.INFO));
        assertEquals(List.of(), a.requests());

        delay.presuspend(false);
        assertEquals(IoStatus.OK, done.get());
        assertEquals("0 0 0", delay.status(StatusType.INFO));
        assertEquals(List.of(new Request(BioOp.READ, 107, 1, 0)), a.requests());
    }

    @Test
    void afterPresuspendRequestsPassUndelayedUntilResume() {
        Target delay = create("/a 0 " + LONG);
        delay.presuspend(true);
        assertEquals(IoStatus.OK, read(delay, 0).get());
        delay.resume();
        Completion held = read(delay, 0);
        assertFalse(held.isDone());
        assertEquals("1 0 0", delay.status(StatusType.INFO));
        delay.destroy();
        assertEquals(IoStatus.OK, held.get(), "destroy sends on what is held");
    }

    @Test
    void requestsArrivingAroundAPresuspendAreAllSentOn() throws Exception {
        Target delay = create("/a 0 " + LONG);
        int threads = 4, perThread = 500;
        List<Completion> all = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<Thread> workers = new java.util.ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    Completion done = new Completion();
                    all.add(done);
                    delay.map(Bio.read(i % 256, ByteBuffer.allocate(512), done));
                }
            });
            w.start();
            workers.add(w);
        }
        go.countDown();
        Thread.sleep(2);
        delay.presuspend(false);
        for (Thread w : workers) w.join(5_000);
        assertEquals(threads * perThread, all.size());
        for (Completion done : all) assertEquals(IoStatus.OK, done.get(), "every request was sent on, none left held");
        assertEquals("0 0 0", delay.status(StatusType.INFO));
        assertEquals(threads * perThread, a.requests().size());
    }

    @Test
    void theDelayElapsesOnTheScheduler() {
        Target delay = create("/a 0 150");
        long before = System.nanoTime();
        Completion done = read(delay, 0);
        assertEquals(IoStatus.OK, done.get());
        long waitedMillis = (done.completedNanos() - before) / 1_000_000;
        assertTrue(waitedMillis >= 150, "waited " + waitedMillis + " ms");
        assertEquals("0 0 0", delay.status(StatusType.INFO));
    }

    @Test
    void nineArgumentsSeparateReadsWritesAndFlushes() {
        Target delay = create("/a 0 0 /b 10 " + LONG + " /c 20 " + LONG);
        assertEquals(IoStatus.OK, read(delay, 1).get(), "reads have no delay here");
        Completion write = new Completion();
        delay.map(Bio.write(2, ByteBuffer.allocate(512), Bio.FUA, write));
        Completion discard = new Completion();
        delay.map(Bio.discard(3, 4, discard));
        Completion flush = new Completion();
        delay.map(Bio.flush(flush));
        assertEquals("0 2 1", delay.status(StatusType.INFO));
        assertFalse(write.isDone() || discard.isDone() || flush.isDone());

        delay.presuspend(false);
        for (Completion done : List.of(write, discard, flush)) assertEquals(IoStatus.OK, done.get());
        assertEquals(List.of(new Request(BioOp.READ, 1, 1, 0)), a.requests());
        assertEquals(List.of(new Request(BioOp.WRITE, 12, 1, Bio.FUA), new Request(BioOp.DISCARD, 13, 4, 0)), b.requests());
        assertEquals(List.of(new Request(BioOp.FLUSH, 0, 0, 0)), c.requests());
    }

    @Test
    void sixArgumentsSendFlushesWithWrites() {
        Target delay = create("/a 0 0 /b 0 0");
        Completion flush = new Completion();
        delay.map(Bio.flush(flush));
        assertEquals(IoStatus.OK, flush.get());
        assertEquals(List.of(), a.requests());
        assertEquals(List.of(new Request(BioOp.FLUSH, 0, 0, 0)), b.requests());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/a 0 500", "/a 2048 0 /b 4096 400", "/a 0 50 /b 0 100 /a 0 333"})
    void tableRepeatsTheGivenTriplets(String words) {
        MemoryDevice big = new MemoryDevice("/a", 8192);
        MemoryDevice bigB = new MemoryDevice("/b", 8192);
        FakeTargetContext ctx = new FakeTargetContext(256, big, bigB);
        assertEquals(words, new DelayType().create(ctx, ctx.args("delay", words)).status(StatusType.TABLE));
        ctx.close();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''                           | delay: requires exactly 3, 6 or 9 arguments, got 0",
            "/a 0 10 /b                   | delay: requires exactly 3, 6 or 9 arguments, got 4",
            "/a 0 10 /b 0 10 /c 0 10 x    | delay: requires exactly 3, 6 or 9 arguments, got 10",
            "/a 0 5x                      | delay: invalid delay '5x'",
            "/a +1 5                      | delay: invalid offset '+1'",
            "/a 0 4294967296              | delay: invalid delay '4294967296' (at most 4294967295)",
            "/a 0 10 /b x 10              | delay: invalid write offset 'x'",
            "/a 0 10 /b 0 10 /c 0 -1      | delay: invalid flush delay '-1'",
            "/a 0 10 /nope 0 10           | delay: '/nope': no such device",
            "/a 0 10 /b 900 10            | delay: device '/b' too small: offset 900 + length 256 > size 1024 sectors",
    })
    void refusesBadArguments(String words, String error) {
        assertEquals(error, assertThrows(TableException.class, () -> create(words)).getMessage());
    }
}
