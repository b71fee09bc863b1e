package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Optional;
import java.util.Random;
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
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceInfo;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableArgs;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.TargetContext;
import org.ddmapper.spi.TargetFeature;
import org.ddmapper.spi.TargetState;
import org.ddmapper.spi.TargetType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceRegistration;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.ddmapper.it.support.EventStream;

/**
 * Live upgrade, the core's part: a target type going away parks the devices using it (noflush,
 * I/O waits), its return rebuilds them from the same table lines (handing state over) and
 * replays the waiting I/O; a type that stays away fails that I/O after the configured wait.
 */
@Timeout(180)
class LiveUpgradeTest {
    static final String LINEAR_BUNDLE = "org.ddmapper.target.linear";
    @TempDir Path dir;

    static DeviceRef ref(String name) { return DeviceRef.of(name); }

    static void awaitLive(DeviceManager dm, String... names) {
        for (String n : names) Waits.await(n + " live again", () -> !dm.info(ref(n)).suspended());
    }

    /** A client writing and verifying its own region in a loop, recording errors, mismatches and the longest request. */
    static final class Verifier implements java.util.concurrent.Callable<Void> {
        final BlockDevice dev;
        final long firstSector;
        final int regionSectors;
        final AtomicBoolean stop;
        final AtomicInteger errors = new AtomicInteger();
        final AtomicInteger mismatches = new AtomicInteger();
        final AtomicLong ops = new AtomicLong();
        final AtomicLong maxNanos = new AtomicLong();
        final List<String> firstErrors = new java.util.concurrent.CopyOnWriteArrayList<>();

        Verifier(BlockDevice dev, long firstSector, int regionSectors, AtomicBoolean stop) {
            this.dev = dev;
            this.firstSector = firstSector;
            this.regionSectors = regionSectors;
            this.stop = stop;
        }

        @Override
        public Void call() throws Exception {
            Random rnd = new Random(firstSector);
            while (!stop.get()) {
                int len = 8;
                long sector = firstSector + rnd.nextInt(regionSectors / len) * (long) len;
                byte[] data = new byte[len * 512];
                rnd.nextBytes(data);
                IoStatus w = timed(Io.writeAsync(dev, sector, data, rnd.nextInt(4) == 0 ? Bio.FUA : 0));
                ByteBuffer back = ByteBuffer.allocate(data.length);
                IoStatus r = timed(Io.readAsync(dev, sector, back));
                if (!w.isOk() || !r.isOk()) {
                    errors.incrementAndGet();
                    if (firstErrors.size() < 5) firstErrors.add(w + " / " + r);
                } else if (!Arrays.equals(data, back.array())) {
                    mismatches.incrementAndGet();
                }
                ops.incrementAndGet();
            }
            return null;
        }

        private IoStatus timed(CompletableFuture<IoStatus> f) throws Exception {
            long t0 = System.nanoTime();
            IoStatus s = f.get(30, TimeUnit.SECONDS);
            maxNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
            return s;
        }
    }

    @Test
    void targetBundleUpdated50TimesUnderVerifyingIo() throws Exception {
        try (CoreFixture fx = new CoreFixture(EmbeddedFramework.start(), dir)) {
            DeviceManager dm = fx.dm;
            Path a = fx.file("up-a.img", 4096);
            Path b = fx.file("up-b.img", 2048);
            Path c = fx.file("up-c.img", 2048);
            dm.create("up-linear", "0 4096 linear " + a + " 0");
            dm.create("up-striped", "0 4096 striped 2 16 " + b + " 0 " + c + " 0");
            dm.create("up-stacked", "0 2048 linear dm:up-linear 2048");
            Path jar = EmbeddedFramework.bundleJar(LINEAR_BUNDLE);
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            List<Verifier> verifiers = new ArrayList<>();
            List<BlockDevice> handles = new ArrayList<>();
            try {
                for (String[] v : new String[][] {{"up-linear", "0"}, {"up-striped", "0"}, {"up-stacked", "0"}}) {
                    BlockDevice h = dm.open(ref(v[0]));
                    handles.add(h);
                    verifiers.add(new Verifier(h, Long.parseLong(v[1]), 1024, stop));
                }
                List<Future<Void>> running = new ArrayList<>();
                for (Verifier v : verifiers) running.add(pool.submit(v));
                Thread.sleep(200);
                long slowestUpgradeNanos = 0;
                for (int i = 0; i < 50; i++) {
                    long t0 = System.nanoTime();
                    fx.fw.update(fx.fw.bundle(LINEAR_BUNDLE), jar);
                    awaitLive(dm, "up-linear", "up-striped", "up-stacked");
                    slowestUpgradeNanos = Math.max(slowestUpgradeNanos, System.nanoTime() - t0);
                }
                Thread.sleep(200);
                stop.set(true);
                for (Future<Void> f : running) f.get(60, TimeUnit.SECONDS);
                long maxStallMillis = verifiers.stream().mapToLong(v -> v.maxNanos.get()).max().orElse(0) / 1_000_000;
                long ops = verifiers.stream().mapToLong(v -> v.ops.get()).sum();
                System.out.printf("live upgrade x50: %d verified write+read pairs, longest request %d ms, slowest update+rebuild %d ms%n",
                        ops, maxStallMillis, slowestUpgradeNanos / 1_000_000);
                for (Verifier v : verifiers) {
                    assertEquals(0, v.errors.get(), "I/O errors: " + v.firstErrors);
                    assertEquals(0, v.mismatches.get(), "verify mismatches");
                    assertTrue(v.ops.get() > 50, "the client kept running: " + v.ops.get());
                }
                for (String n : List.of("up-linear", "up-striped", "up-stacked")) {
                    long swaps = dm.events(ref(n), 0).stream().filter(e -> e.kind() == EventKind.BUNDLE_SWAPPED).count();
                    assertEquals(50, swaps, n + " was swapped once per update (events kept: 256, it has " + EventStream.position(dm, ref(n)) + ")");
                    assertNull(dm.info(ref(n)).missingType());
                }
                assertEquals(Bundle.ACTIVE, fx.fw.bundle(LINEAR_BUNDLE).getState());
            } finally {
                stop.set(true);
                pool.shutdownNow();
                for (BlockDevice h : handles) h.close();
            }
        }
    }

    @Test
    void aTypeThatStaysAwayFailsWaitingIoAfterTheWaitAndComesBack() throws Exception {
        EmbeddedFramework fw = EmbeddedFramework.builder().property("ddmapper.core.typeWaitMillis", "1000").start();
        try (CoreFixture fx = new CoreFixture(fw, dir)) {
            DeviceManager dm = fx.dm;
            Path f = fx.file("away.img", 64);
            dm.create("away", "0 64 linear " + f + " 0");
            Bundle linear = fw.bundle(LINEAR_BUNDLE);
            try (var dev = dm.open(ref("away"))) {
                linear.stop();
                DeviceInfo parked = dm.info(ref("away"));
                assertTrue(parked.suspended());
                assertEquals("linear", parked.missingType());
                assertEquals("0 64 linear waiting for target type 'linear'", dm.status(ref("away")).get(0).toString());
                assertEquals("0 64 linear " + f + " 0", dm.table(ref("away"), false).get(0).toString(), "the table line is kept");
                CompletableFuture<IoStatus> waiting = Io.writeAsync(dev, 0, Io.filled(1, 1), 0);
                Thread.sleep(300);
                assertFalse(waiting.isDone(), "I/O waits for the type");
                IoStatus failed = waiting.get(10, TimeUnit.SECONDS);
                assertEquals(Errno.EIO, failed.errno());
                assertEquals("target type 'linear' is not registered (waited 1000 ms); I/O fails until it returns", failed.message());
                assertEquals(Errno.EIO, Io.write(dev, 0, Io.filled(1, 1)).errno(), "new I/O fails at once while it stays away");
                DeviceEvent missing = dm.events(ref("away"), 0).stream().filter(e -> e.kind() == EventKind.TARGET_TYPE_MISSING)
                        .findFirst().orElseThrow();
                assertEquals("linear", missing.details().get("type"));

                linear.start();
                awaitLive(dm, "away");
                assertTrue(Io.write(dev, 0, Io.filled(1, 5)).isOk(), "the device serves again once the type is back");
                assertNull(dm.info(ref("away")).missingType());
            }
            assertEquals(5, CoreFixture.sectorOf(f, 0)[0]);
        }
    }

    /** "tstate": counts the writes it saw and hands the count to its successor. */
    static final class Counting implements TargetType {
        final int version;
        final boolean refuse;
        volatile TargetState imported;

        Counting(int version, boolean refuse) {
            this.version = version;
            this.refuse = refuse;
        }

        @Override public String name() { return "tstate"; }

        @Override public String version() { return version + ".0.0"; }

        @Override public Set<TargetFeature> features() { return Set.of(TargetFeature.STATE_HANDOVER); }

        @Override public String usage() { return "tstate <dev>"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            if (refuse) throw args.error("version " + version + " refuses this table");
            BlockDevice dev = args.nextDevice("device");
            AtomicLong writes = new AtomicLong();
            return new Target() {
                @Override
                public void map(Bio bio) {
                    if (bio.op() == org.ddmapper.api.BioOp.WRITE) writes.incrementAndGet();
                    dev.submit(bio.op() == org.ddmapper.api.BioOp.FLUSH ? bio : bio.remap(bio.sector()));
                }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() : "v" + version + " writes=" + writes.get(); }

                @Override
                public Optional<TargetState> exportState() {
                    return Optional.of(new TargetState("tstate", 1, Long.toString(writes.get()).getBytes(StandardCharsets.US_ASCII)));
                }

                @Override
                public void importState(TargetState state) {
                    imported = state;
                    if (state.formatVersion() == 1) writes.set(Long.parseLong(new String(state.data(), StandardCharsets.US_ASCII)));
                }
            };
        }
    }

    @Test
    void stateIsHandedOverAndARefusingNewVersionLeavesTheDeviceWaitingForARollback() throws Exception {
        try (CoreFixture fx = new CoreFixture(EmbeddedFramework.start(), dir)) {
            DeviceManager dm = fx.dm;
            Path f = fx.file("state.img", 64);
            ServiceRegistration<TargetType> v1 = fx.fw.context().registerService(TargetType.class, new Counting(1, false), new Hashtable<>());
            Waits.awaitTypes(dm, "tstate");
            dm.create("counted", "0 64 tstate " + f);
            try (var dev = dm.open(ref("counted"))) {
                for (int i = 0; i < 3; i++) assertTrue(Io.write(dev, i, Io.filled(1, i)).isOk());
                assertEquals("0 64 tstate v1 writes=3", dm.status(ref("counted")).get(0).toString());

                // upgrade to v2: the count survives
                v1.unregister();
                assertEquals("tstate", dm.info(ref("counted")).missingType());
                Counting two = new Counting(2, false);
                ServiceRegistration<TargetType> v2 = fx.fw.context().registerService(TargetType.class, two, new Hashtable<>());
                awaitLive(dm, "counted");
                assertEquals("0 64 tstate v2 writes=3", dm.status(ref("counted")).get(0).toString());
                assertEquals("tstate", two.imported.type());
                DeviceEvent swapped = dm.events(ref("counted"), 0).stream().filter(e -> e.kind() == EventKind.BUNDLE_SWAPPED)
                        .reduce((x, y) -> y).orElseThrow();
                assertEquals("tstate", swapped.details().get("type"));

                // v3 refuses the table: the device keeps waiting, its I/O too, until v2 comes back
                v2.unregister();
                ServiceRegistration<TargetType> v3 = fx.fw.context().registerService(TargetType.class, new Counting(3, true), new Hashtable<>());
                Waits.await("the refusal", () -> dm.events(ref("counted"), 0).stream()
                        .anyMatch(e -> e.kind() == EventKind.TARGET_TYPE_MISSING && e.details().containsKey("reason")));
                DeviceEvent refused = dm.events(ref("counted"), 0).stream()
                        .filter(e -> e.kind() == EventKind.TARGET_TYPE_MISSING && e.details().containsKey("reason")).findFirst().orElseThrow();
                assertEquals("cannot rebuild its table: line 1: tstate: version 3 refuses this table", refused.details().get("reason"));
                assertTrue(dm.info(ref("counted")).suspended());
                assertTrue(dm.status(ref("counted")).get(0).text().contains("version 3 refuses this table"));
                CompletableFuture<IoStatus> waiting = Io.writeAsync(dev, 9, Io.filled(1, 9), 0);
                Thread.sleep(200);
                assertFalse(waiting.isDone(), "I/O waits through a refused upgrade");
                v3.unregister();
                fx.fw.context().registerService(TargetType.class, new Counting(2, false), new Hashtable<>());
                awaitLive(dm, "counted");
                assertTrue(waiting.get(10, TimeUnit.SECONDS).isOk(), "the waiting write completes after the rollback");
                assertEquals("0 64 tstate v2 writes=4", dm.status(ref("counted")).get(0).toString());
            }
            assertEquals(9, CoreFixture.sectorOf(f, 9)[0]);
        }
    }

    /** "thooks <dev>": a pass-through counting its preresume and resume calls. */
    static final class Hooks implements TargetType {
        final AtomicInteger preresumes = new AtomicInteger();
        final AtomicInteger resumes = new AtomicInteger();

        @Override public String name() { return "thooks"; }

        @Override public String version() { return "1.0.0"; }

        @Override public String usage() { return "thooks <dev>"; }

        @Override
        public Target create(TargetContext context, TableArgs args) {
            BlockDevice dev = args.nextDevice("device");
            return new Target() {
                @Override
                public void map(Bio bio) { dev.submit(bio.op() == org.ddmapper.api.BioOp.FLUSH ? bio : bio.remap(bio.sector())); }

                @Override public void preresume() { preresumes.incrementAndGet(); }

                @Override public void resume() { resumes.incrementAndGet(); }

                @Override
                public String status(StatusType type) { return type == StatusType.TABLE ? dev.reference() : ""; }
            };
        }
    }

    @Test
    void aDeviceTheOperatorSuspendedStaysSuspendedThroughASwapAndResumesItsTargetsOnlyAtItsResume() throws Exception {
        try (CoreFixture fx = new CoreFixture(EmbeddedFramework.start(), dir)) {
            DeviceManager dm = fx.dm;
            Path f = fx.file("held.img", 64);
            ServiceRegistration<TargetType> v1 = fx.fw.context().registerService(TargetType.class, new Hooks(), new Hashtable<>());
            Waits.awaitTypes(dm, "thooks");
            dm.create("held", "0 64 thooks " + f);
            dm.suspend(ref("held"), false);
            try (var dev = dm.open(ref("held"))) {
                CompletableFuture<IoStatus> waiting = Io.writeAsync(dev, 1, Io.filled(1, 6), 0);
                v1.unregister();
                Hooks two = new Hooks();
                fx.fw.context().registerService(TargetType.class, two, new Hashtable<>());
                Waits.await("held rebuilt on the new type", () -> dm.info(ref("held")).missingType() == null);
                assertTrue(dm.info(ref("held")).suspended(), "the operator's suspend stands");
                assertEquals(0, two.resumes.get(), "no resume hook while the operator keeps the device suspended");
                assertFalse(waiting.isDone(), "I/O waits for the operator's resume");
                dm.resume(ref("held"));
                assertEquals(1, two.resumes.get(), "the resume hook runs at the operator's resume");
                assertTrue(waiting.get(10, TimeUnit.SECONDS).isOk());
            }
            assertEquals(6, CoreFixture.sectorOf(f, 1)[0]);
        }
    }

    @Test
    void aDeviceWhoseRebuildFailedIsTriedAgainUntilItBuilds() throws Exception {
        EmbeddedFramework fw = EmbeddedFramework.builder().property("ddmapper.core.typeWaitMillis", "60000").start();
        try (CoreFixture fx = new CoreFixture(fw, dir)) {
            DeviceManager dm = fx.dm;
            Path f = fx.file("retry.img", 64);
            dm.create("retry", "0 64 linear " + f + " 0");
            Bundle linear = fw.bundle(LINEAR_BUNDLE);
            try (var dev = dm.open(ref("retry"))) {
                linear.stop();
                CompletableFuture<IoStatus> waiting = Io.writeAsync(dev, 2, Io.filled(1, 8), 0);
                Path away = java.nio.file.Files.move(f, dir.resolve("retry.img.away"));
                linear.start();
                Waits.await("the rebuild failed", () -> dm.status(ref("retry")).get(0).text().contains("no such file or block device"));
                assertTrue(dm.info(ref("retry")).suspended());
                assertFalse(waiting.isDone(), "the write waits");
                java.nio.file.Files.move(away, f);
                // no type registers now: only the periodic retry can bring it back
                awaitLive(dm, "retry");
                assertTrue(waiting.get(10, TimeUnit.SECONDS).isOk());
            }
            assertEquals(8, CoreFixture.sectorOf(f, 2)[0]);
        }
    }

    @Test
    void aTypeLeavingWhileIoHangsBelowKeepsItsOldTargetsUntilThatIoCompletes() throws Exception {
        EmbeddedFramework fw = EmbeddedFramework.builder().property("ddmapper.core.drainTimeoutMillis", "300")
                .property("ddmapper.core.typeWaitMillis", "60000").start();
        try (CoreFixture fx = new CoreFixture(fw, dir)) {
            DeviceManager dm = fx.dm;
            Waits.awaitTypes(dm, "delay");
            Path f = fx.file("below.img", 64);
            dm.create("below", "0 64 delay " + f + " 0 60000");
            dm.create("above", "0 64 linear dm:below 0");
            try (var dev = dm.open(ref("above"))) {
                CompletableFuture<IoStatus> inFlight = Io.writeAsync(dev, 3, Io.filled(1, 9), 0);
                Waits.await("the write held below", () -> dm.status(ref("below")).get(0).text().equals("0 1 0"));
                fw.update(fw.bundle(LINEAR_BUNDLE), EmbeddedFramework.bundleJar(LINEAR_BUNDLE)); // its drain times out
                CompletableFuture<IoStatus> after = Io.writeAsync(dev, 3, Io.filled(1, 10), 0);
                Waits.await("the new version registered", () -> dm.targets().stream().anyMatch(t -> t.name().equals("linear")));
                assertTrue(dm.info(ref("above")).suspended(), "not rebuilt while I/O is in flight on the old targets");
                assertFalse(inFlight.isDone(), "the in-flight write was not errored");
                assertFalse(after.isDone(), "new I/O waits behind it");
                dm.suspend(ref("below"), false); // the delay target sends what it holds on
                assertTrue(inFlight.get(10, TimeUnit.SECONDS).isOk(), "the write in flight completed on the old targets");
                dm.load(ref("below"), "0 64 linear " + f + " 0"); // no more delay
                dm.resume(ref("below"));
                awaitLive(dm, "above");
                assertTrue(after.get(10, TimeUnit.SECONDS).isOk());
                assertArrayEquals(Io.filled(1, 10), Io.read(dev, 3, 512), "the later write landed last");
            }
        }
    }

    @Test
    void anInactiveTableWhoseTypeLeavesIsRebuiltWhenItReturns() throws Exception {
        try (CoreFixture fx = new CoreFixture(EmbeddedFramework.start(), dir)) {
            DeviceManager dm = fx.dm;
            Path f = fx.file("inact.img", 64);
            ServiceRegistration<TargetType> reg = fx.fw.context().registerService(TargetType.class, new Counting(1, false), new Hashtable<>());
            Waits.awaitTypes(dm, "tstate");
            dm.create("inact", "0 64 linear " + f + " 0");
            dm.load(ref("inact"), "0 64 tstate " + f);
            reg.unregister();
            DeviceInfo info = dm.info(ref("inact"));
            assertFalse(info.suspended(), "the live table does not use the type: the device keeps serving");
            assertEquals("LIVE & INACTIVE", info.tablesPresent());
            var e = assertThrows(org.ddmapper.api.DmException.class, () -> dm.resume(ref("inact")));
            assertEquals("the table loaded into 'inact' waits for its target type to be registered again", e.getMessage());
            fx.fw.context().registerService(TargetType.class, new Counting(1, false), new Hashtable<>());
            Waits.awaitTypes(dm, "tstate");
            Waits.await("inactive rebuilt", () -> {
                try {
                    dm.resume(ref("inact"));
                    return true;
                } catch (org.ddmapper.api.DmException notYet) {
                    return false;
                }
            });
            assertEquals("tstate", dm.table(ref("inact"), false).get(0).type());
        }
    }
}
