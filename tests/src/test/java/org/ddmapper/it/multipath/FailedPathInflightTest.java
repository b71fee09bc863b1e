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
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.Peers;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A path server that stalls silently (SIGSTOP: its TCP connection stays up, nothing answers)
 * while requests are in flight on it. Once the path is failed — by a fail_path message or by
 * the nbd checker timing out — those requests complete on the other path at once, long before
 * the 30 s path I/O timeout (the default, in force here) would have expired them.
 */
@Timeout(180)
class FailedPathInflightTest {
    static final long SECTORS = 8192; // 4 MiB
    /** Far below the 30 s I/O timeout, with room for a loaded machine. */
    static final long BOUND_MILLIS = 12_000;
    @TempDir Path dir;
    private MultipathFixture fx;
    private final List<NbdPeer> peers = new ArrayList<>();

    @AfterEach
    void tearDown() {
        peers.forEach(NbdPeer::close);
        if (fx != null) fx.close();
    }

    private NbdPeer peer(NbdPeer p) {
        peers.add(p);
        return p;
    }

    /** Two TCP paths to one file; returns the file. */
    private Path start(String defaults) throws Exception {
        Peers.require("nbdkit");
        fx = new MultipathFixture(dir, "defaults {\n" + defaults + "\n}\n");
        Path file = fx.backingFile("lun.img", SECTORS);
        peer(NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir));
        peer(NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir));
        fx.dm.create("mpatha", "0 " + SECTORS + " multipath 0 0 1 1 round-robin 0 2 0 "
                + peers.get(0).reference() + " " + peers.get(1).reference());
        return file;
    }

    /** Stalls path 1's server, then writes 8 blocks: round-robin leaves half of them hanging on it. */
    private List<CompletableFuture<IoStatus>> writesWithHalfStalled(DeviceManager.OpenDevice mp, byte[][] data) throws Exception {
        peers.get(0).hang();
        List<CompletableFuture<IoStatus>> writes = new ArrayList<>();
        for (int i = 0; i < data.length; i++) writes.add(writeAsync(mp, 16L * i, data[i]));
        return writes;
    }

    private static byte[][] blocks(int seed) {
        byte[][] data = new byte[8][];
        for (int i = 0; i < data.length; i++) data[i] = pattern(8192, seed + i);
        return data;
    }

    private void assertAllWrittenWithin(List<CompletableFuture<IoStatus>> writes, long since) throws Exception {
        for (CompletableFuture<IoStatus> w : writes) {
            long left = BOUND_MILLIS - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
            assertEquals(IoStatus.OK, w.get(Math.max(1, left), TimeUnit.MILLISECONDS));
        }
    }

    private void assertOnStorage(DeviceManager.OpenDevice mp, byte[][] data) {
        for (int i = 0; i < data.length; i++) {
            ByteBuffer back = ByteBuffer.allocate(8192);
            assertEquals(IoStatus.OK, get(readAsync(mp, 16L * i, back)));
            assertArrayEquals(data[i], back.array(), "block " + i);
        }
    }

    @Test
    void failPathOnAStalledServerRetriesItsInFlightWritesOnTheOtherPathAtOnce() throws Exception {
        start(" polling_interval 60"); // the monitor stays out of the way: only the message fails the path
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            byte[][] data = blocks(10);
            List<CompletableFuture<IoStatus>> writes = writesWithHalfStalled(mp, data);
            // the other path's half completes; the stalled half waits
            Waits.await("the writes on the running server", () -> writes.stream().filter(CompletableFuture::isDone).count() == 4);
            assertEquals(4, writes.stream().filter(w -> !w.isDone()).count(), "in flight on the stalled server");
            assertTrue(writes.stream().filter(CompletableFuture::isDone).allMatch(w -> w.join().isOk()));
            long failedAt = System.nanoTime();
            fx.message("mpatha", "fail_path", "1");
            assertAllWrittenWithin(writes, failedAt);
            List<DeviceEvent> failed = fx.events("mpatha", EventKind.PATH_FAILED);
            assertEquals(1, failed.size(), failed.toString());
            assertEquals("fail_path message", failed.get(0).details().get("reason"));
            assertEquals("4", failed.get(0).details().get("retried"));
            assertOnStorage(mp, data);
            // the stalled server wakes up and answers late: nothing changes, no second failure
            peers.get(0).resume();
            fx.message("mpatha", "show", "topology"); // a round trip through the map after the wake-up
            assertOnStorage(mp, data);
            assertEquals(1, fx.events("mpatha", EventKind.PATH_FAILED).size());
            // failed once (the monitor may have reconnected it since the server woke up)
            String status = fx.status("mpatha");
            assertTrue(status.contains(peers.get(0).reference() + " F 1 ") || status.contains(peers.get(0).reference() + " A 1 "), status);
        }
    }

    @Test
    void theNbdCheckerFailingAStalledServerRetriesItsInFlightWritesOnTheOtherPath() throws Exception {
        start(" polling_interval 0.2\n max_polling_interval 0.4\n checker_timeout 1");
        try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
            byte[][] data = blocks(30);
            long stalledAt = System.nanoTime();
            List<CompletableFuture<IoStatus>> writes = writesWithHalfStalled(mp, data);
            assertAllWrittenWithin(writes, stalledAt);
            DeviceEvent failed = fx.awaitEvents("mpatha", EventKind.PATH_FAILED, 1, BOUND_MILLIS).get(0);
            assertTrue(failed.details().get("reason").startsWith("checker nbd: "), failed.toString());
            assertEquals(peers.get(0).reference(), failed.details().get("path"));
            assertEquals("4", failed.details().get("retried"));
            assertOnStorage(mp, data);
        }
    }
}
