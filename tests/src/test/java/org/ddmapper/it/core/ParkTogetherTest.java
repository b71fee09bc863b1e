package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.ServiceRegistration;

/**
 * When a target type goes away, the devices using it that are not stacked on one another are all
 * stopped before any of them is drained, so their in-flight I/O drains at the same time: the
 * stall of an upgrade grows with the slowest drain, not with the number of devices
 * (bench/upgrade-stall.sh --devices 50). Stacked devices still park upper first, into lowers
 * that serve.
 */
@Timeout(120)
class ParkTogetherTest {
    @TempDir Path dir;

    /** "tgate <dev>": while the gate is closed, requests stay in flight in the target (a slow backend); opening it sends them on. */
    static final class Gate implements TargetType {
        final List<Runnable> inFlight = new CopyOnWriteArrayList<>();
        volatile boolean closed = true;

        @Override public String name() { return "tgate"; }

        @Override public String version() { return "0.0.1"; }

        @Override public Set<TargetFeature> features() { return Set.of(); }

        @Override public String usage() { return "tgate <dev>"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            return new Target() {
                @Override
                public void map(Bio bio) {
                    Runnable send = () -> dev.submit(bio.op() == BioOp.FLUSH ? bio : bio.remap(bio.sector()));
                    synchronized (Gate.this) {
                        if (closed) {
                            inFlight.add(send);
                            return;
                        }
                    }
                    send.run();
                }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() : ""; }
            };
        }

        void open() {
            List<Runnable> go;
            synchronized (this) {
                closed = false;
                go = new ArrayList<>(inFlight);
                inFlight.clear();
            }
            go.forEach(Runnable::run);
        }
    }

    static DeviceRef ref(String name) { return DeviceRef.of(name); }

    @Test
    void devicesNotStackedOnEachOtherAreAllStoppedBeforeTheFirstDrains() throws Exception {
        try (CoreFixture fx = new CoreFixture(EmbeddedFramework.start(), dir)) {
            DeviceManager dm = fx.dm;
            Gate gate = new Gate();
            ServiceRegistration<TargetType> reg = fx.fw.context().registerService(TargetType.class, gate, new Hashtable<>());
            Waits.awaitTypes(dm, "tgate");
            List<String> names = List.of("ga", "gb", "gc");
            List<Path> files = new ArrayList<>();
            for (String n : names) {
                files.add(fx.file(n + ".img", 64));
                dm.create(n, "0 64 tgate " + files.get(files.size() - 1));
            }
            List<BlockDevice> handles = new ArrayList<>();
            List<CompletableFuture<IoStatus>> writes = new ArrayList<>();
            Thread unregistering = new Thread(reg::unregister, "unregister-tgate");
            try {
                for (String n : names) handles.add(dm.open(ref(n)));
                for (BlockDevice h : handles) writes.add(Io.writeAsync(h, 0, Io.filled(1, 7), 0));
                Waits.await("one write in flight in each target", () -> gate.inFlight.size() == names.size());

                unregistering.start();
                // probe every device with a write until the core holds one on each: a device not stopped yet
                // passes its probe on to the (closed) target; the first drain cannot end while the gate is shut
                int[] probes = new int[names.size()];
                Waits.await("every device stopped while the first one drains", () -> {
                    boolean all = true;
                    for (int i = 0; i < names.size(); i++) {
                        if (dm.info(ref(names.get(i))).heldRequests() > 0) continue;
                        all = false;
                        writes.add(Io.writeAsync(handles.get(i), 1 + probes[i]++, Io.filled(1, 8), 0));
                    }
                    return all;
                });
                assertTrue(unregistering.isAlive(), "the drain waits for the requests in flight");
                assertTrue(writes.stream().noneMatch(CompletableFuture::isDone), "nothing completed while the gate is shut");

                gate.open();
                unregistering.join(30_000);
                assertFalse(unregistering.isAlive(), "the drains ended with the requests in flight");
                for (String n : names) assertEquals("tgate", dm.info(ref(n)).missingType(), n + " is parked");

                fx.fw.context().registerService(TargetType.class, gate, new Hashtable<>());
                LiveUpgradeTest.awaitLive(dm, names.toArray(String[]::new));
                for (CompletableFuture<IoStatus> w : writes) assertEquals(IoStatus.OK, w.get(15, TimeUnit.SECONDS));
                for (int i = 0; i < names.size(); i++) {
                    assertEquals(7, CoreFixture.sectorOf(files.get(i), 0)[0], names.get(i) + ": the write in flight landed");
                    for (int p = 0; p < probes[i]; p++)
                        assertEquals(8, CoreFixture.sectorOf(files.get(i), 1 + p)[0], names.get(i) + ": probe " + p + " was replayed");
                }
            } finally {
                gate.open();
                unregistering.join(30_000);
                for (BlockDevice h : handles) h.close();
            }
        }
    }

    @Test
    void anUpperDeviceDrainsIntoALowerThatStillServes() throws Exception {
        // a lower stopped together with its upper would hold the upper's drained I/O until the drain timeout
        EmbeddedFramework fw = EmbeddedFramework.builder().property("ddmapper.core.drainTimeoutMillis", "20000").start();
        try (CoreFixture fx = new CoreFixture(fw, dir)) {
            DeviceManager dm = fx.dm;
            Gate gate = new Gate();
            ServiceRegistration<TargetType> reg = fx.fw.context().registerService(TargetType.class, gate, new Hashtable<>());
            Waits.awaitTypes(dm, "tgate");
            Path f = fx.file("low.img", 64);
            dm.create("low", "0 64 tgate " + f);
            dm.create("up", "0 64 tgate dm:low");
            Thread unregistering = new Thread(reg::unregister, "unregister-tgate");
            try (BlockDevice up = dm.open(ref("up"))) {
                CompletableFuture<IoStatus> w = Io.writeAsync(up, 3, Io.filled(1, 9), 0);
                Waits.await("the write in flight in the upper's target", () -> gate.inFlight.size() == 1);
                unregistering.start();
                // the upper is stopped first (its probe is held), the lower keeps serving meanwhile
                List<CompletableFuture<IoStatus>> probes = new ArrayList<>();
                Waits.await("the upper device stopped", () -> {
                    if (dm.info(ref("up")).heldRequests() > 0) return true;
                    probes.add(Io.writeAsync(up, 10 + probes.size(), Io.filled(1, 6), 0));
                    return false;
                });
                long t0 = System.nanoTime();
                gate.open(); // the upper's write goes on to the lower, which must still pass it down
                unregistering.join(30_000);
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertFalse(unregistering.isAlive());
                assertTrue(millis < 15_000, "parking took " + millis + " ms: the lower held the upper's drained write");
                assertFalse(fx.fw.log().contains("requests still in flight"), fx.fw.log());
                assertEquals(IoStatus.OK, w.get(15, TimeUnit.SECONDS));
                assertEquals(9, CoreFixture.sectorOf(f, 3)[0]);
                fx.fw.context().registerService(TargetType.class, gate, new Hashtable<>());
                LiveUpgradeTest.awaitLive(dm, "low", "up");
                for (CompletableFuture<IoStatus> p : probes) assertEquals(IoStatus.OK, p.get(15, TimeUnit.SECONDS));
                assertEquals(6, CoreFixture.sectorOf(f, 10)[0], "the held probe was replayed through both devices");
            } finally {
                gate.open();
                unregistering.join(30_000);
            }
        }
    }
}
