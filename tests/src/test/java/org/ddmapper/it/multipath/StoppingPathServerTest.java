package org.ddmapper.it.multipath;

import static org.ddmapper.it.support.Io.get;
import static org.ddmapper.it.support.Io.pattern;
import static org.ddmapper.it.support.Io.readAsync;
import static org.ddmapper.it.support.Io.writeAsync;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 25, the client side: a multipath map over two paths to one file — another ddmapper
 * appliance exporting it, and nbdkit — with writes flowing while the appliance is stopped
 * (SIGTERM). The appliance answers what it cannot take with NBD_ESHUTDOWN; the map fails that path
 * with ESHUTDOWN as the reason and retries on the other, so no write fails and every block reads
 * back.
 */
@Timeout(180)
class StoppingPathServerTest {
    static final long SECTORS = 16384; // 8 MiB
    static final int BLOCK_SECTORS = 16;
    @TempDir Path dir;
    private MultipathFixture fx;
    private NbdPeer nbdkit;

    @AfterEach
    void tearDown() {
        if (nbdkit != null) nbdkit.close();
        if (fx != null) fx.close();
    }

    @Test
    void aPathServerThatStopsIsAFailedPathWithItsReasonAndNoWriteFails() throws Exception {
        Peers.require("nbdkit");
        fx = new MultipathFixture(dir, "defaults {\n polling_interval 0.2\n max_polling_interval 0.4\n checker_timeout 1\n}\n");
        Path file = fx.backingFile("lun.img", SECTORS);
        nbdkit = NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir);
        try (Appliance app = Appliance.start(dir.resolve("home"))) {
            Appliance.Exit created = app.ddsetup("create", "lun", "--table", "0 " + SECTORS + " linear " + file + " 0");
            assertEquals(0, created.code(), created.toString());
            String stopping = app.nbdUri("lun");
            fx.dm.create("mpatha", "0 " + SECTORS + " multipath 0 0 1 1 round-robin 0 2 0 " + stopping + " " + nbdkit.reference());
            try (DeviceManager.OpenDevice mp = fx.dm.open(DeviceRef.of("mpatha"))) {
                int blocks = (int) (SECTORS / BLOCK_SECTORS);
                List<CompletableFuture<IoStatus>> writes = new ArrayList<>();
                AtomicReference<Throwable> stopFailed = new AtomicReference<>();
                Thread stopper = new Thread(() -> {
                    try {
                        Thread.sleep(300);
                        app.stop(); // SIGTERM; asserts exit 0
                    } catch (Throwable e) {
                        stopFailed.set(e);
                    }
                }, "stopper");
                stopper.start();
                // Writes eight at a time, round-robin over both paths, until well after the stop.
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                for (int round = 0; System.nanoTime() < end || stopper.isAlive(); round++) {
                    List<CompletableFuture<IoStatus>> batch = new ArrayList<>();
                    for (int i = 0; i < 8; i++) {
                        int block = (round * 8 + i) % blocks;
                        batch.add(writeAsync(mp, (long) block * BLOCK_SECTORS, pattern(BLOCK_SECTORS * 512, round * 8 + i)));
                    }
                    for (CompletableFuture<IoStatus> w : batch) assertEquals(IoStatus.OK, get(w), "no write fails");
                    writes.addAll(batch);
                }
                stopper.join(60_000);
                if (stopFailed.get() != null) throw new AssertionError("the path server's appliance did not stop cleanly", stopFailed.get());
                assertTrue(writes.size() > 100, "writes ran across the stop: " + writes.size());

                DeviceEvent failed = fx.awaitEvents("mpatha", EventKind.PATH_FAILED, 1, 10_000).get(0);
                assertEquals(stopping, failed.details().get("path"));
                assertTrue(failed.details().get("reason").contains("ESHUTDOWN"), failed.toString());
                assertTrue(fx.status("mpatha").contains(stopping + " F "), fx.status("mpatha"));

                // the last round written is what every block holds now
                int total = writes.size();
                for (int i = Math.max(0, total - blocks); i < total; i++) {
                    int block = i % blocks;
                    ByteBuffer back = ByteBuffer.allocate(BLOCK_SECTORS * 512);
                    assertEquals(IoStatus.OK, get(readAsync(mp, (long) block * BLOCK_SECTORS, back)));
                    assertArrayEquals(pattern(BLOCK_SECTORS * 512, i), back.array(), "block " + block);
                }
            }
        }
    }
}
