package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DeviceStats;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoCounters;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.testkit.TestTargetTypes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The core's I/O statistics over real files: what each device and each underlying device counted. */
@Timeout(60)
class DeviceStatsTest {
    @TempDir Path dir;
    Devices devices;
    Path a;
    Path b;

    @BeforeEach
    void start() throws Exception {
        devices = new Devices();
        devices.addTargetType(new TestTargetTypes.Linear(), "test", 1);
        devices.start(CoreConfig.forHome(dir.resolve("home")));
        a = dir.resolve("a.img");
        b = dir.resolve("b.img");
        Files.write(a, new byte[1 << 20]);
        Files.write(b, new byte[1 << 20]);
    }

    @AfterEach
    void stop() { devices.close(); }

    static IoStatus submit(BlockDevice dev, java.util.function.Function<java.util.function.Consumer<IoStatus>, Bio> make) throws Exception {
        CompletableFuture<IoStatus> f = new CompletableFuture<>();
        dev.submit(make.apply(f::complete));
        return f.get(10, TimeUnit.SECONDS);
    }

    @Test
    void countsRequestsOfTheDeviceAndOfEachDeviceUnderneath() throws Exception {
        devices.create("s", "0 8 tlinear " + a + " 0\n8 8 tlinear " + b + " 0");
        try (BlockDevice dev = devices.open(DeviceRef.of("s"))) {
            assertTrue(submit(dev, c -> Bio.write(0, ByteBuffer.allocate(16 * 512), 0, c)).isOk(), "split over both targets");
            assertTrue(submit(dev, c -> Bio.read(8, ByteBuffer.allocate(4 * 512), c)).isOk());
            assertTrue(submit(dev, c -> Bio.read(0, ByteBuffer.allocate(512), c)).isOk());
            assertTrue(submit(dev, Bio::flush).isOk());
            IoStatus beyond = submit(dev, c -> Bio.read(14, ByteBuffer.allocate(4 * 512), c));
            assertEquals(Errno.EINVAL, beyond.errno());
        }
        DeviceStats s = devices.stats(DeviceRef.of("s"));
        assertEquals("s", s.name());
        IoCounters d = s.device();
        assertEquals(3, d.reads().ios(), "two reads and the one refused past the end");
        assertEquals(4 + 1 + 4, d.reads().sectors());
        assertEquals(1, d.reads().errors());
        assertEquals(1, d.writes().ios());
        assertEquals(16, d.writes().sectors());
        assertEquals(0, d.writes().errors());
        assertEquals(1, d.flushes().ios());
        assertEquals(0, d.discards().ios());
        assertEquals(0, d.inFlight());
        assertEquals(3, Arrays.stream(d.reads().latencyBuckets()).sum(), "each request in one histogram bucket");
        assertTrue(d.writes().latencyNanos() > 0);

        assertEquals(List.of(b.toString(), a.toString()), s.lower().stream().map(DeviceStats.Lower::reference).toList(), "in deps' order");
        IoCounters onA = lower(s, a.toString());
        IoCounters onB = lower(s, b.toString());
        assertEquals(1, onA.writes().ios());
        assertEquals(8, onA.writes().sectors());
        assertEquals(1, onB.writes().ios());
        assertEquals(8, onB.writes().sectors());
        assertEquals(1, onA.reads().ios(), "the one-sector read at 0");
        assertEquals(1, onB.reads().ios(), "the read at 8 went to b");
        assertEquals(4, onB.reads().sectors());
        assertEquals(1, onA.flushes().ios(), "a flush reaches every target");
        assertEquals(1, onB.flushes().ios());
        assertEquals(0, onA.inFlight());
    }

    @Test
    void aStackedDeviceCountsTheLowerMappedDeviceAndTheLowerItsOwnFile() throws Exception {
        devices.create("low", "0 16 tlinear " + a + " 0");
        devices.create("top", "0 8 tlinear dm:low 8");
        try (BlockDevice dev = devices.open(DeviceRef.of("top"))) {
            assertTrue(submit(dev, c -> Bio.write(0, ByteBuffer.allocate(8 * 512), 0, c)).isOk());
        }
        assertEquals(8, lower(devices.stats(DeviceRef.of("top")), "dm:low").writes().sectors());
        DeviceStats low = devices.stats(DeviceRef.of("low"));
        assertEquals(1, low.device().writes().ios(), "the lower device served the upper's request");
        assertEquals(8, lower(low, a.toString()).writes().sectors());
    }

    @Test
    void countersStayExactUnderConcurrentRequestsAndSurviveATableSwap() throws Exception {
        devices.create("c", "0 2048 tlinear " + a + " 0");
        int threads = 4, each = 500;
        try (BlockDevice dev = devices.open(DeviceRef.of("c"))) {
            List<Thread> workers = new ArrayList<>();
            List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread w = new Thread(() -> {
                    try {
                        for (int i = 0; i < each; i++) {
                            long sector = (id * each + i) % 2048;
                            IoStatus st = i % 2 == 0 ? submit(dev, c -> Bio.write(sector, ByteBuffer.allocate(512), 0, c))
                                    : submit(dev, c -> Bio.read(sector, ByteBuffer.allocate(512), c));
                            if (!st.isOk()) throw new AssertionError(st.toString());
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                });
                w.start();
                workers.add(w);
            }
            for (Thread w : workers) w.join();
            assertEquals(List.of(), failures);
        }
        devices.load(DeviceRef.of("c"), "0 2048 tlinear " + a + " 0");
        devices.resume(DeviceRef.of("c"));
        DeviceStats s = devices.stats(DeviceRef.of("c"));
        assertEquals(threads * each / 2, s.device().writes().ios());
        assertEquals(threads * each / 2, s.device().reads().ios());
        assertEquals(threads * each / 2, lower(s, a.toString()).writes().ios(), "the file's counters carry over the table swap");
        assertEquals(threads * each / 2, Arrays.stream(lower(s, a.toString()).reads().latencyBuckets()).sum());
    }

    @Test
    void aDeviceThatIsNotThereIsENXIO() {
        var e = assertThrows(org.ddmapper.api.DmException.class, () -> devices.stats(DeviceRef.of("nope")));
        assertEquals(Errno.ENXIO, e.errno());
    }

    private static IoCounters lower(DeviceStats s, String reference) {
        return s.lower().stream().filter(l -> l.reference().equals(reference)).findFirst()
                .orElseThrow(() -> new AssertionError("no counters for " + reference + " in " + s.lower())).counters();
    }
}
