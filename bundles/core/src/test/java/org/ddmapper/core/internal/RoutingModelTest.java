package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.spi.testkit.TestTargetTypes;

/**
 * Routing against a model: a table of 60 segments of random length, each mapped onto a shuffled
 * place in one file; random reads and writes that cross segment boundaries; every sector read
 * back through the device and straight from the file must match the model.
 */
@Timeout(60)
class RoutingModelTest {
    @TempDir Path dir;
    Devices devices;

    @BeforeEach
    void start() {
        devices = new Devices();
        devices.addTargetType(new TestTargetTypes.Linear(), "test", 1);
        devices.start(CoreConfig.forHome(dir.resolve("home")));
    }

    @AfterEach
    void stop() { devices.close(); }

    @Test
    void randomIoAcrossSegmentsMatchesTheModel() throws Exception {
        Random rnd = new Random(42);
        int segments = 60;
        long[] lengths = new long[segments];
        long size = 0;
        for (int i = 0; i < segments; i++) {
            lengths[i] = 1 + rnd.nextInt(40);
            size += lengths[i];
        }
        // place segments in the file in shuffled order
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < segments; i++) order.add(i);
        Collections.shuffle(order, rnd);
        long[] fileOffset = new long[segments];
        long at = 0;
        for (int i : order) {
            fileOffset[i] = at;
            at += lengths[i];
        }
        Path file = dir.resolve("model.img");
        Files.write(file, new byte[(int) (at * 512)]);
        StringBuilder table = new StringBuilder();
        long start = 0;
        for (int i = 0; i < segments; i++) {
            table.append(start).append(' ').append(lengths[i]).append(" tlinear ").append(file).append(' ').append(fileOffset[i]).append('\n');
            start += lengths[i];
        }
        devices.create("model", table.toString());
        byte[] model = new byte[(int) (size * 512)];
        try (BlockDevice dev = devices.open(DeviceRef.of("model"))) {
            List<CompletableFuture<IoStatus>> pending = new ArrayList<>();
            for (int op = 0; op < 400; op++) {
                long len = 1 + rnd.nextInt(64);
                long sector = rnd.nextInt((int) (size - len + 1));
                if (rnd.nextBoolean()) {
                    byte[] data = new byte[(int) (len * 512)];
                    rnd.nextBytes(data);
                    System.arraycopy(data, 0, model, (int) (sector * 512), data.length);
                    CompletableFuture<IoStatus> f = new CompletableFuture<>();
                    dev.submit(Bio.write(sector, ByteBuffer.wrap(data), rnd.nextInt(8) == 0 ? Bio.FUA : 0, f::complete));
                    // writes to overlapping ranges must not race: wait for each
                    assertTrue(f.get(10, TimeUnit.SECONDS).isOk());
                } else {
                    ByteBuffer buf = ByteBuffer.allocate((int) (len * 512));
                    CompletableFuture<IoStatus> f = new CompletableFuture<>();
                    dev.submit(Bio.read(sector, buf, f::complete));
                    assertTrue(f.get(10, TimeUnit.SECONDS).isOk());
                    byte[] expected = new byte[buf.capacity()];
                    System.arraycopy(model, (int) (sector * 512), expected, 0, expected.length);
                    assertArrayEquals(expected, buf.array(), "read " + sector + "+" + len);
                }
                if (op % 50 == 0) {
                    CompletableFuture<IoStatus> f = new CompletableFuture<>();
                    dev.submit(Bio.flush(f::complete));
                    pending.add(f);
                }
            }
            for (CompletableFuture<IoStatus> f : pending) assertTrue(f.get(10, TimeUnit.SECONDS).isOk());
            ByteBuffer all = ByteBuffer.allocate(model.length);
            CompletableFuture<IoStatus> f = new CompletableFuture<>();
            dev.submit(Bio.read(0, all, f::complete));
            assertTrue(f.get(10, TimeUnit.SECONDS).isOk());
            assertArrayEquals(model, all.array(), "the whole device in one request over 60 targets");
        }
        byte[] disk = Files.readAllBytes(file);
        long s = 0;
        for (int i = 0; i < segments; i++) {
            for (long k = 0; k < lengths[i] * 512; k++)
                assertEquals(model[(int) (s * 512 + k)], disk[(int) (fileOffset[i] * 512 + k)], "segment " + i);
            s += lengths[i];
        }
    }
}
