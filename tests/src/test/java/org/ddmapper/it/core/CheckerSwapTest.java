package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.EventStream;

/**
 * Checker bundles swapped under a running path monitor (checks every 100 ms, so swaps land in
 * the middle of checks): no path fails or comes back, no path event, the monitor checks with the
 * new checker afterwards, and each swap is one BUNDLE_SWAPPED on the multipath map.
 */
@Timeout(90)
class CheckerSwapTest {
    static final String DIRECTIO = "org.ddmapper.checker.directio";
    static final Set<EventKind> PATH_EVENTS = Set.of(EventKind.PATH_FAILED, EventKind.PATH_REINSTATED, EventKind.PG_SWITCHED,
            EventKind.PG_BYPASSED, EventKind.PATH_DAMPED, EventKind.QUEUE_MODE_CHANGED);
    @TempDir Path dir;

    @Test
    void directioSwappedSixTimesUnderTheMonitorLeavesEveryPathAlone() throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("multipath.conf"), "defaults {\n    polling_interval 0.1\n    max_polling_interval 0.1\n"
                + "    path_checker directio\n}\n");
        try (UpgradeBench b = new UpgradeBench(dir, EmbeddedFramework.builder().etc(etc), DIRECTIO)) {
            Waits.awaitTypes(b.dm, "multipath");
            Path lun = b.fx.file("lun.img", 2048);
            b.dm.create("cl1", "0 2048 linear " + lun + " 0");
            b.dm.create("cl2", "0 2048 linear " + lun + " 0");
            String p1 = "dm:cl1";
            String p2 = "dm:cl2";
            b.dm.create("mpc", "0 2048 multipath 0 0 1 1 round-robin 0 2 1 " + p1 + " 1 " + p2 + " 1");
            Waits.await("both paths checked ready by directio", () -> showPaths(b).lines().filter(l -> l.contains("directio")
                    && l.contains(" ready ")).count() == 2);
            List<DeviceEvent> seen = new CopyOnWriteArrayList<>();
            AutoCloseable sub = b.dm.subscribe(DeviceRef.of("mpc"), seen::add);
            Path jars = Files.createDirectories(dir.resolve("new"));
            Path installed = b.installed.get(DIRECTIO);
            String base = UpgradeJars.version(installed).toString();
            String next = UpgradeJars.nextMicro(UpgradeJars.version(installed));
            Path[] swaps = {UpgradeJars.withVersion(installed, jars.resolve("directio-next.jar"), next), Files.copy(installed, jars.resolve("directio-base.jar"))};
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try (BlockDevice h = b.dm.open(DeviceRef.of("mpc"))) {
                LiveUpgradeTest.Verifier v = new LiveUpgradeTest.Verifier(h, 0, 1024, stop);
                Future<Void> client = pool.submit(v);
                for (int i = 0; i < 6; i++) {
                    String report = b.upgrade(DIRECTIO, swaps[i % 2]);
                    assertEquals("upgraded " + DIRECTIO + " " + (i % 2 == 0 ? base : next) + " -> " + (i % 2 == 0 ? next : base)
                            + " (1 device, max stall 0 ms)\n", report);
                    Thread.sleep(250);
                }
                stop.set(true);
                client.get(30, TimeUnit.SECONDS);
                assertEquals(0, v.errors.get(), "I/O errors: " + v.firstErrors);
                assertEquals(0, v.mismatches.get());
            } finally {
                stop.set(true);
                pool.shutdownNow();
                sub.close();
            }
            assertEquals(List.of(), seen.stream().filter(e -> PATH_EVENTS.contains(e.kind())).toList(), "no path event");
            List<DeviceEvent> swapped = seen.stream().filter(e -> e.kind() == EventKind.BUNDLE_SWAPPED).toList();
            assertEquals(6, swapped.size());
            assertEquals(DIRECTIO, swapped.get(5).details().get("bundle"));
            assertEquals("directio", swapped.get(5).details().get("checker"));
            assertEquals(next, swapped.get(5).details().get("from"));
            assertEquals(base, swapped.get(5).details().get("to"));
            assertTrue(b.dm.status(DeviceRef.of("mpc")).get(0).text().endsWith(p1 + " A 0 " + p2 + " A 0 "), b.dm.status(DeviceRef.of("mpc")).toString());
            long checksBefore = checks(b);
            Waits.await("the new checker checks again", () -> checks(b) > checksBefore + 2
                    && showPaths(b).lines().filter(l -> l.contains("directio") && l.contains(" ready ")).count() == 2);
            assertEquals(base, b.fw.bundle(DIRECTIO).getVersion().toString());
        }
    }

    @Test
    void aBrokenCheckerVersionRollsBackAndTheOldCheckerKeepsChecking() throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("multipath.conf"), "defaults {\n    polling_interval 0.1\n    max_polling_interval 0.1\n"
                + "    path_checker directio\n}\n");
        EmbeddedFramework.Builder builder = EmbeddedFramework.builder().etc(etc).property("ddmapper.core.upgradeTimeoutMillis", "1500");
        try (UpgradeBench b = new UpgradeBench(dir, builder, DIRECTIO)) {
            Waits.awaitTypes(b.dm, "multipath");
            Path lun = b.fx.file("lun.img", 2048);
            b.dm.create("cl1", "0 2048 linear " + lun + " 0");
            b.dm.create("cl2", "0 2048 linear " + lun + " 0");
            b.dm.create("mpc", "0 2048 multipath 0 0 1 1 round-robin 0 2 1 dm:cl1 1 dm:cl2 1");
            Waits.await("both paths checked ready by directio", () -> showPaths(b).lines().filter(l -> l.contains("directio")
                    && l.contains(" ready ")).count() == 2);
            Path installed = b.installed.get(DIRECTIO);
            byte[] installedBytes = Files.readAllBytes(installed);
            String base = UpgradeJars.version(installed).toString();
            // registers no checker: its components are gone
            Path silent = UpgradeJars.rewrite(installed, Files.createDirectories(dir.resolve("new")).resolve("silent.jar"), a -> {
                a.putValue("Bundle-Version", "9.9.7");
                a.remove(new java.util.jar.Attributes.Name("Service-Component"));
            });
            long nr = EventStream.position(b.dm, DeviceRef.of("mpc"));
            org.ddmapper.api.DmException e = assertThrows(org.ddmapper.api.DmException.class, () -> b.upgrade(DIRECTIO, silent));
            assertEquals(org.ddmapper.api.Errno.ECANCELED, e.errno());
            assertEquals("upgrade of " + DIRECTIO + " " + base + " to 9.9.7 rolled back: its checker directio did not register within 1500 ms",
                    e.getMessage());
            List<DeviceEvent> after = b.dm.events(DeviceRef.of("mpc"), nr);
            assertEquals(List.of(), after.stream().filter(x -> PATH_EVENTS.contains(x.kind()) || x.kind() == EventKind.BUNDLE_SWAPPED).toList(),
                    "no path event, no swap");
            DeviceEvent rolledBack = after.stream().filter(x -> x.kind() == EventKind.BUNDLE_ROLLED_BACK).findFirst().orElseThrow();
            assertEquals(DIRECTIO, rolledBack.details().get("bundle"));
            assertEquals("9.9.7", rolledBack.details().get("to"));
            assertEquals(base, b.fw.bundle(DIRECTIO).getVersion().toString());
            assertArrayEquals(installedBytes, Files.readAllBytes(installed), "the bundle directory keeps the old jar");
            assertTrue(b.dm.status(DeviceRef.of("mpc")).get(0).text().endsWith("dm:cl1 A 0 dm:cl2 A 0 "), b.dm.status(DeviceRef.of("mpc")).toString());
            long checksBefore = checks(b);
            Waits.await("the old checker checks again", () -> checks(b) > checksBefore + 2
                    && showPaths(b).lines().filter(l -> l.contains("directio") && l.contains(" ready ")).count() == 2);
        }
    }

    static String showPaths(UpgradeBench b) {
        return b.dm.message(DeviceRef.of("mpc"), new TargetRef.ByIndex(0), Message.of("show", "paths"));
    }

    /** The monitor's check count from {@code show daemon}. */
    static long checks(UpgradeBench b) {
        String daemon = b.dm.message(DeviceRef.of("mpc"), new TargetRef.ByIndex(0), Message.of("show", "daemon"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("checks[ :=]+(\\d+)").matcher(daemon);
        if (!m.find()) throw new IllegalStateException("no check count in: " + daemon);
        return Long.parseLong(m.group(1));
    }
}
