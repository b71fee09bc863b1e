package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.EmbeddedFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class CoreSmokeTest {
    @TempDir Path dir;

    @Test
    void linearDeviceInRealFelix() throws Exception {
        Path file = dir.resolve("a.img");
        Files.write(file, new byte[1 << 20]);
        try (EmbeddedFramework fw = EmbeddedFramework.start()) {
            assertEquals(java.util.Map.of(), fw.startFailures());
            DeviceManager dm = fw.service(DeviceManager.class);
            long deadline = System.currentTimeMillis() + 10_000;
            while (dm.targets().stream().noneMatch(t -> t.name().equals("linear")) && System.currentTimeMillis() < deadline) Thread.sleep(20);
            dm.create("v0", "0 2048 linear " + file + " 0");
            try (DeviceManager.OpenDevice dev = dm.open(DeviceRef.of("v0"))) {
                byte[] data = new byte[4096];
                java.util.Arrays.fill(data, (byte) 7);
                CompletableFuture<IoStatus> w = new CompletableFuture<>();
                dev.submit(Bio.write(8, ByteBuffer.wrap(data), Bio.FUA, w::complete));
                assertTrue(w.get(5, TimeUnit.SECONDS).isOk());
            }
            byte[] disk = Files.readAllBytes(file);
            assertEquals(7, disk[8 * 512]);
        }
    }
}
