package org.ddmapper.core.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.spi.testkit.TestTargetTypes;

/** The I/O gate under concurrency: nothing lost across suspend/resume/swap storms, bounded drains, requeues. */
@Timeout(60)
class GateTest {
    @TempDir Path dir;
    Devices devices;
    Path file;

    @BeforeEach
    void start() throws Exception {
        devices = new Devices();
        devices.addTargetType(new TestTargetTypes.Linear(), "test", 1);
        devices.addTargetType(new Stuck(), "test", 2);
        devices.addTargetType(new RequeueOnce(), "test", 3);
        devices.start(CoreConfig.forHome(dir.resolve("home")).withDrainTimeoutMillis(300));
        file = dir.resolve("gate.img");
        Files.write(file, new byte[4096 * 512]);
    }

    @AfterEach
    void stop() { devices.close(); }

    @Test
    void noRequestIsLostOrFailedAcrossSuspendResumeAndSwapStorms() throws Exception {
        devices.create("storm", "0 4096 tlinear " + file + " 0");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong ok = new AtomicLong();
        AtomicInteger bad = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (BlockDevice dev = devices.open(DeviceRef.of("storm"))) {
            Future<?>[] workers = new Future<?>[3];
            for (int w = 0; w < workers.length; w++) {
                int id = w;
                workers[w] = pool.submit(() -> {
                    int i = 0;
                    while (!stop.get()) {
                        CompletableFuture<IoStatus> f = new CompletableFuture<>();
                        long sector = (id * 1000L + (i++ % 1000));
                        dev.submit(Bio.write(sector, ByteBuffer.allocate(512), 0, f::complete));
                        try {
                            if (f.get(20, TimeUnit.SECONDS).isOk()) ok.incrementAndGet(); else bad.incrementAndGet();
                        } catch (Exception e) {
                            bad.incrementAndGet();
                        }
                    }
                    return null;
                });
            }
            for (int round = 0; round < 100; round++) {
                switch (round % 3) {
                    case 0 -> {
                        devices.suspend(DeviceRef.of("storm"), round % 2 == 0);
                        devices.resume(DeviceRef.of("storm"));
                    }
                    case 1 -> {
                        devices.load(DeviceRef.of("storm"), "0 2048 tlinear " + file + " 0\n2048 2048 tlinear " + file + " 2048");
                        devices.resume(DeviceRef.of("storm"));
                    }
                    default -> {
                        devices.load(DeviceRef.of("storm"), "0 4096 tlinear " + file + " 0");
                        devices.suspend(DeviceRef.of("storm"), false);
                        devices.resume(DeviceRef.of("storm"));
                    }
                }
            }
            stop.set(true);
            for (Future<?> w : workers) w.get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, bad.get(), "no request failed or got lost");
        assertTrue(ok.get() > 100, "requests ran during the storm: " + ok.get());
        assertEquals(0, devices.info(DeviceRef.of("storm")).heldRequests());
    }

    @Test
    void aSuspendThatCannotDrainIsUndoneAndSaysWhy() throws Exception {
        devices.create("stuck", "0 64 tstuck");
        try (BlockDevice dev = devices.open(DeviceRef.of("stuck"))) {
            CompletableFuture<IoStatus> f = new CompletableFuture<>();
            dev.submit(Bio.read(0, ByteBuffer.allocate(512), f::complete));
            DmException e = assertThrows(DmException.class, () -> devices.suspend(DeviceRef.of("stuck"), false));
            assertEquals(Errno.ETIMEDOUT, e.errno());
            assertEquals("device 'stuck': 1 requests still in flight after 300 ms; suspend abandoned", e.getMessage());
            assertFalse(devices.info(DeviceRef.of("stuck")).suspended(), "the device keeps serving");
            assertFalse(f.isDone());
        }
    }

    @Test
    void aRequeueOutsideASuspendIsSubmittedAgain() throws Exception {
        devices.create("rq", "0 64 trequeue " + file);
        try (BlockDevice dev = devices.open(DeviceRef.of("rq"))) {
            CompletableFuture<IoStatus> f = new CompletableFuture<>();
            dev.submit(Bio.write(3, ByteBuffer.wrap(new byte[512]), 0, f::complete));
            assertTrue(f.get(10, TimeUnit.SECONDS).isOk());
        }
    }

    /** "tstuck": never completes anything. */
    static final class Stuck implements TargetType {
        @Override public String name() { return "tstuck"; }

        @Override public String version() { return "1.0.0"; }

        @Override public String usage() { return "tstuck"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            return new Target() {
                @Override public void map(Bio bio) { }

                @Override public String status(StatusType type) { return ""; }
            };
        }
    }

    /** "trequeue <dev>": hands each request back once, then passes it on. */
    static final class RequeueOnce implements TargetType {
        final Set<Bio> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override public String name() { return "trequeue"; }

        @Override public String version() { return "1.0.0"; }

        @Override public String usage() { return "trequeue <dev>"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            AtomicInteger calls = new AtomicInteger();
            return new Target() {
                @Override
                public void map(Bio bio) {
                    if (calls.getAndIncrement() == 0) bio.complete(IoStatus.REQUEUE);
                    else dev.submit(bio.remap(bio.sector()));
                }

                @Override public String status(StatusType type) { return ""; }
            };
        }
    }
}
