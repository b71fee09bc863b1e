package org.ddmapper.it.multipath;

import static org.ddmapper.it.support.Io.get;
import static org.ddmapper.it.support.Io.pattern;
import static org.ddmapper.it.support.Io.readAsync;
import static org.ddmapper.it.support.Io.writeAsync;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.Waits;

/**
 * The multipath target and the path monitor in a real Felix, over two paths that are mapped
 * devices on one real backing file ({@code dm:legN} = linear over the file). A path is broken
 * by reloading its leg with the {@code error} target, hung with {@code delay}, and repaired by
 * reloading {@code linear}; the monitor (directio checker, 0.2 s polling) notices.
 */
@Timeout(60)
class StackedPathsTest {
    static final long SECTORS = 2048;
    @TempDir Path dir;
    private MultipathFixture fx;
    private Path file;

    private void start(String defaults) throws Exception {
        start(defaults, "0.2");
    }

    private void start(String defaults, String pollingSeconds) throws Exception {
        fx = new MultipathFixture(dir, "defaults {\n polling_interval " + pollingSeconds + "\n" + defaults + "\n}\n");
        file = fx.backingFile("lun.img", SECTORS);
        for (int i = 0; i < 2; i++) fx.dm.create("leg" + i, linear());
    }

    private String linear() { return "0 " + SECTORS + " linear " + file + " 0"; }

    private String multipath(String features) {
        return "0 " + SECTORS + " multipath " + features + " 0 1 1 round-robin 0 2 1 dm:leg0 1 dm:leg1 1";
    }

    @AfterEach
    void tearDown() {
        if (fx != null) fx.close();
    }

    @Test
    void aBrokenPathIsFailedWithoutAnIoErrorAndReinstatedByTheMonitorWhenRepaired() throws Exception {
        start("");
        DeviceManager dm = fx.dm;
        dm.create("mpatha", multipath("0"));
        try (DeviceManager.OpenDevice mp = dm.open(DeviceRef.of("mpatha"))) {
            fx.reload("leg0", "0 " + SECTORS + " error");
            List<byte[]> written = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                byte[] data = pattern(4096, i);
                written.add(data);
                assertEquals(IoStatus.OK, get(writeAsync(mp, i * 8L, data)), "write " + i);
            }
            DeviceEvent failed = fx.awaitEvents("mpatha", EventKind.PATH_FAILED, 1, 5000).get(0);
            assertEquals("dm:leg0", failed.details().get("path"));
            assertEquals("1", failed.details().get("valid_paths"));
            assertTrue(fx.status("mpatha").contains("dm:leg0 F 1 dm:leg1 A 0"), fx.status("mpatha"));
            fx.reload("leg0", linear());
            DeviceEvent back = fx.awaitEvents("mpatha", EventKind.PATH_REINSTATED, 1, 5000).get(0);
            assertEquals("dm:leg0", back.details().get("path"));
            // the check that finds it ready, or a reconnect (tried every polling interval while it is
            // down) whose check ran just after the reload: either way the monitor's directio verdict
            String why = back.details().get("reason");
            assertTrue(why.equals("checker directio: ready") || why.equals("reconnected; checker directio: ready"), why);
            // both paths carry I/O again, and every write is on the file
            for (int i = 0; i < 32; i++) {
                ByteBuffer into = ByteBuffer.allocate(4096);
                assertEquals(IoStatus.OK, get(readAsync(mp, i * 8L, into)));
                assertArrayEquals(written.get(i), into.array(), "block " + i);
            }
            assertTrue(fx.status("mpatha").contains("dm:leg0 A 1 dm:leg1 A 0"), fx.status("mpatha"));
            String topology = fx.message("mpatha", "show", "topology");
            assertTrue(topology.contains("|- 1 dm:leg0 active ready directio fail=1"), topology);
        }
    }

    @Test
    void aHungPathIsFailedAfterThePathIoTimeout() throws Exception {
        start("");
        fx.dm.create("mpatha", multipath("2 path_io_timeout_msecs 300"));
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            fx.reload("leg1", "0 " + SECTORS + " delay " + file + " 0 20000");
            long worstMillis = 0;
            for (int i = 0; i < 8; i++) {
                long start = System.nanoTime();
                assertEquals(IoStatus.OK, get(writeAsync(mp, i * 8L, pattern(4096, i))));
                worstMillis = Math.max(worstMillis, (System.nanoTime() - start) / 1_000_000);
            }
            // at least the timeout; far below the 20 s delay (the bound leaves room for a busy machine)
            assertTrue(worstMillis >= 300 && worstMillis < 10_000, "worst stall " + worstMillis + " ms");
            DeviceEvent failed = fx.awaitEvents("mpatha", EventKind.PATH_FAILED, 1, 5000).get(0);
            assertEquals("dm:leg1", failed.details().get("path"));
            assertEquals("write timed out after 300 ms", failed.details().get("reason"));
        }
    }

    @Test
    void allPathsDownWithQueueIfNoPathWaitsAndCompletesWhenAPathReturns() throws Exception {
        start("");
        fx.dm.create("mpatha", multipath("1 queue_if_no_path"));
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            fx.reload("leg0", "0 " + SECTORS + " error");
            fx.reload("leg1", "0 " + SECTORS + " error");
            byte[] data = pattern(4096, 9);
            CompletableFuture<IoStatus> waiting = writeAsync(mp, 64, data);
            fx.awaitEvents("mpatha", EventKind.PATH_FAILED, 2, 5000);
            Thread.sleep(600);
            assertFalse(waiting.isDone(), "queued while no path is left");
            assertTrue(fx.message("mpatha", "show", "topology").contains(" queued=1\n"), fx.message("mpatha", "show", "topology"));
            assertTrue(fx.status("mpatha").endsWith("dm:leg0 F 1 dm:leg1 F 1 "), fx.status("mpatha"));
            fx.reload("leg1", linear());
            assertEquals(IoStatus.OK, get(waiting));
            ByteBuffer into = ByteBuffer.allocate(4096);
            assertEquals(IoStatus.OK, get(readAsync(mp, 64, into)));
            assertArrayEquals(data, into.array());
        }
    }

    @Test
    void noPathRetryFailsQueuedIoAfterAboutNIntervals() throws Exception {
        start(" no_path_retry 5");
        fx.dm.create("mpatha", multipath("0"));
        assertTrue(fx.table("mpatha").startsWith("1 queue_if_no_path "), "no_path_retry 5 turns queueing on: " + fx.table("mpatha"));
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            fx.reload("leg0", "0 " + SECTORS + " error");
            fx.reload("leg1", "0 " + SECTORS + " error");
            long start = System.nanoTime();
            IoStatus s = get(writeAsync(mp, 0, pattern(512, 1)));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(Errno.EIO, s.errno());
            // never before the 5 intervals; the upper bound only says "about": the monitor's thread may run late on a busy machine
            assertTrue(millis >= 900 && millis < 10_000, "failed after " + millis + " ms (5 x 0.2 s)");
            DeviceEvent off = fx.awaitEvents("mpatha", EventKind.QUEUE_MODE_CHANGED, 2, 5000).get(1);
            assertEquals("0", off.details().get("queue_if_no_path"));
            assertEquals("no_path_retry 5: no path came back within 5 polling intervals (1 s)", off.details().get("reason"));
        }
    }

    @Test
    void noPathRetryFailFailsAtOnce() throws Exception {
        start(" no_path_retry fail");
        fx.dm.create("mpatha", multipath("1 queue_if_no_path"));
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            fx.reload("leg0", "0 " + SECTORS + " error");
            fx.reload("leg1", "0 " + SECTORS + " error");
            long start = System.nanoTime();
            assertEquals(Errno.EIO, get(writeAsync(mp, 0, pattern(512, 1))).errno());
            long millis = (System.nanoTime() - start) / 1_000_000;
            // the table queues: without the policy the write would wait until the 15 s bound of get()
            assertTrue(millis < 5000, "failed after " + millis + " ms");
        }
    }

    @Test
    void queuedIoSurvivesANoflushReloadOfTheMap() throws Exception {
        start("", "60"); // the monitor stays out of the way: only the reload can bring the request through
        fx.dm.create("mpatha", multipath("1 queue_if_no_path"));
        // the monitor's first checks (at once) are over before the paths break; the next are a minute away
        Waits.await("both paths checked", () -> !fx.message("mpatha", "show", "topology").contains("undef"));
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            fx.reload("leg0", "0 " + SECTORS + " error");
            fx.reload("leg1", "0 " + SECTORS + " error");
            byte[] data = pattern(4096, 5);
            CompletableFuture<IoStatus> waiting = writeAsync(mp, 128, data);
            fx.awaitEvents("mpatha", EventKind.PATH_FAILED, 2, 5000);
            fx.reload("leg1", linear());
            Thread.sleep(300);
            assertFalse(waiting.isDone());
            // the map is reloaded with noflush before the monitor notices leg1 is back: the request goes with it
            fx.dm.load(DeviceRef.of("mpatha"), "0 " + SECTORS + " multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 1 dm:leg1 1");
            fx.dm.suspend(DeviceRef.of("mpatha"), true);
            fx.dm.resume(DeviceRef.of("mpatha"));
            assertEquals(IoStatus.OK, get(waiting));
            assertTrue(fx.events("mpatha", EventKind.PATH_REINSTATED).isEmpty());
            ByteBuffer into = ByteBuffer.allocate(4096);
            assertEquals(IoStatus.OK, get(readAsync(mp, 128, into)));
            assertArrayEquals(data, into.array());
        }
    }
}
