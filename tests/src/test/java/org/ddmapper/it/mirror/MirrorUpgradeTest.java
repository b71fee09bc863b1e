package org.ddmapper.it.mirror;

import static org.ddmapper.it.support.Io.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.multipath.MultipathFixture;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live upgrade of bundle target-mirror under verifying I/O, with a leg out of the mirror: no I/O
 * error, the leg stays out, and no region it missed is forgotten — when it comes back, exactly the
 * regions written while it was out (before, during and between the upgrades) are copied.
 */
@Timeout(300)
class MirrorUpgradeTest {
    static final String BUNDLE = "org.ddmapper.target.mirror";
    static final long SECTORS = 8192; // 8 regions of 1024 sectors
    @TempDir Path dir;
    MultipathFixture fx;

    @AfterEach
    void stop() { if (fx != null) fx.close(); }

    @Test
    void upgradedFiveTimesUnderIoWithALegOutForgetsNoRegion() throws Exception {
        fx = new MultipathFixture(dir, "");
        Waits.awaitTypes(fx.dm, "mirror", "linear", "error");
        Path a = fx.backingFile("a.img", SECTORS);
        Path b = fx.backingFile("b.img", SECTORS);
        Path log = fx.backingFile("log.img", 8);
        fx.dm.create("la", "0 " + SECTORS + " linear " + a + " 0");
        fx.dm.create("lb", "0 " + SECTORS + " linear " + b + " 0");
        String table = "0 " + SECTORS + " mirror disk 2 " + log + " 1024 2 dm:la 0 dm:lb 0 1 handle_errors";
        fx.dm.create("m", table.replace("disk 2 " + log + " 1024", "disk 3 " + log + " 1024 nosync"));
        Path jar = EmbeddedFramework.bundleJar(BUNDLE);
        try (DeviceManager.OpenDevice m = fx.dm.open(DeviceRef.of("m"))) {
            fx.reload("lb", "0 " + SECTORS + " error");
            assertEquals(IoStatus.OK, Io.write(m, 2 * 1024, pattern(4096, 1)));
            assertEquals(IoStatus.OK, Io.write(m, 5 * 1024 + 9, pattern(512, 2)));
            assertTrue(fx.status("m").contains(" 6/8 1 AD "), fx.status("m"));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ops = new AtomicLong();
            List<String> problems = new CopyOnWriteArrayList<>();
            Thread client = new Thread(() -> {
                Random random = new Random(7);
                while (!stop.get()) {
                    byte[] data = new byte[4096];
                    random.nextBytes(data);
                    long sector = 7 * 1024 + random.nextInt(128) * 8L;
                    IoStatus w = Io.write(m, sector, data);
                    ByteBuffer back = ByteBuffer.allocate(4096);
                    IoStatus r = Io.read(m, sector, back);
                    if (!w.isOk() || !r.isOk()) problems.add("sector " + sector + ": " + w + " / " + r);
                    else if (!java.util.Arrays.equals(data, back.array())) problems.add("sector " + sector + ": read back differs");
                    ops.incrementAndGet();
                }
            }, "mirror-client");
            client.start();
            for (int i = 0; i < 5; i++) {
                fx.fw.update(fx.fw.bundle(BUNDLE), jar);
                Waits.await("m live again", () -> !fx.dm.info(DeviceRef.of("m")).suspended());
                Thread.sleep(200);
            }
            stop.set(true);
            client.join(30_000);
            assertEquals(List.of(), problems);
            assertTrue(ops.get() > 20, "the client kept going: " + ops.get());
            long swaps = fx.events("m", EventKind.BUNDLE_SWAPPED).size();
            assertEquals(5, swaps);
            assertTrue(fx.status("m").contains(" 5/8 1 AD "), "the leg is still out, regions 2, 5 and 7 out of sync: " + fx.status("m"));
            // the leg's device comes back; the same table brings it in; only regions 2, 5 and 7 are copied
            fx.reload("lb", "0 " + SECTORS + " linear " + b + " 0");
            fx.reload("m", table);
            Waits.await("m in sync", () -> fx.status("m").contains(" 8/8 1 AA "));
            List<DeviceEvent> recovered = fx.awaitEvents("m", EventKind.MIRROR_RECOVERY_COMPLETE, 2, 10_000);
            assertEquals("3", recovered.get(recovered.size() - 1).details().get("regions"));
            assertEquals(IoStatus.OK, Io.flush(m));
            assertArrayEquals(pattern(512, 2), Io.read(m, 5 * 1024 + 9, 512));
        }
        assertEquals(-1, Files.mismatch(a, b));
    }
}
