package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Waits;
import org.ddmapper.it.support.Io;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.ddmapper.it.support.EventStream;

/**
 * The safe upgrade command (UPGRADE over the control socket, ddsetup upgrade) under verifying
 * I/O: target-linear swapped 50 times and target-multipath 5 times with no client error and the
 * multipath state kept; broken new versions rolled back with the reason; bad input refused.
 */
@Timeout(150)
class SafeUpgradeTest {
    static final String LINEAR = "org.ddmapper.target.linear";
    static final String MULTIPATH = "org.ddmapper.target.multipath";
    static final Pattern REPORT = Pattern.compile("upgraded (\\S+) (\\S+) -> (\\S+) \\((\\d+) devices?, max stall (\\d+) ms\\)\n");

    @TempDir Path dir;

    static DeviceRef ref(String name) { return DeviceRef.of(name); }

    static List<DeviceEvent> events(UpgradeBench b, String device, EventKind kind) {
        return b.dm.events(ref(device), 0).stream().filter(e -> e.kind() == kind).toList();
    }

    @Test
    void fiftyUpgradesOverTheControlSocketUnderVerifyingIoKeepDataAndPathState() throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("multipath.conf"), "defaults {\n    polling_interval 600\n    max_polling_interval 600\n}\n");
        try (UpgradeBench b = new UpgradeBench(dir, EmbeddedFramework.builder().etc(etc), LINEAR, MULTIPATH)) {
            Waits.awaitTypes(b.dm, "multipath", "error");
            Path jars = Files.createDirectories(dir.resolve("new"));
            String base = UpgradeJars.version(b.installed.get(LINEAR)).toString();
            String next = UpgradeJars.nextMicro(UpgradeJars.version(b.installed.get(LINEAR)));
            Path[] linearJars = {UpgradeJars.withVersion(b.installed.get(LINEAR), jars.resolve("linear-next.jar"), next),
                    Files.copy(b.installed.get(LINEAR), jars.resolve("linear-base.jar"))};
            Path[] mpJars = {UpgradeJars.withVersion(b.installed.get(MULTIPATH), jars.resolve("mp-next.jar"), next),
                    Files.copy(b.installed.get(MULTIPATH), jars.resolve("mp-base.jar"))};

            b.dm.create("up-linear", "0 4096 linear " + b.fx.file("a.img", 4096) + " 0");
            b.dm.create("up-striped", "0 4096 striped 2 16 " + b.fx.file("b.img", 2048) + " 0 " + b.fx.file("c.img", 2048) + " 0");
            Path lun = b.fx.file("lun.img", 4096);
            b.dm.create("mp-p1", "0 4096 linear " + lun + " 0");
            b.dm.create("mp-p2", "0 4096 linear " + lun + " 0");
            b.dm.create("mp-dead", "0 4096 error");
            b.dm.create("mp", "0 4096 multipath 1 queue_if_no_path 0 2 1 round-robin 0 1 1 dm:mp-dead 1 "
                    + "round-robin 0 2 1 dm:mp-p1 1 dm:mp-p2 1");
            try (BlockDevice probe = b.dm.open(ref("mp"))) {
                assertTrue(Io.write(probe, 0, Io.filled(1, 1)).isOk(), "the first write fails over from the dead path");
            }
            Waits.await("the dead path failed and group 2 in use", () -> b.dm.status(ref("mp")).get(0).text().contains("dm:mp-dead F"));
            Thread.sleep(300);
            for (int i = 0; i < 3; i++) { // fail counts only the handed-over state can keep (a rebuilt map would start at 0)
                b.dm.message(ref("mp"), new TargetRef.ByIndex(0), Message.of("fail_path", "dm:mp-p2"));
                b.dm.message(ref("mp"), new TargetRef.ByIndex(0), Message.of("reinstate_path", "dm:mp-p2"));
            }
            String pathState = b.dm.status(ref("mp")).get(0).text();
            assertTrue(pathState.matches(".*dm:mp-dead F 1 .*dm:mp-p1 A 0 dm:mp-p2 A 3 "), pathState);
            int pathFailures = events(b, "mp", EventKind.PATH_FAILED).size();

            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            List<LiveUpgradeTest.Verifier> verifiers = new ArrayList<>();
            List<BlockDevice> handles = new ArrayList<>();
            long maxReportedStall = 0;
            try {
                for (String n : List.of("up-linear", "up-striped", "mp")) {
                    BlockDevice h = b.dm.open(ref(n));
                    handles.add(h);
                    verifiers.add(new LiveUpgradeTest.Verifier(h, 8, 1024, stop));
                }
                List<Future<Void>> running = new ArrayList<>();
                for (LiveUpgradeTest.Verifier v : verifiers) running.add(pool.submit(v));
                Thread.sleep(200);
                long t0 = System.nanoTime();
                int mpUpgrades = 0;
                for (int i = 0; i < 50; i++) {
                    Matcher m = REPORT.matcher(b.upgrade(LINEAR, linearJars[i % 2]));
                    assertTrue(m.matches(), m.toString());
                    assertEquals(List.of(LINEAR, i % 2 == 0 ? base : next, i % 2 == 0 ? next : base, "4"),
                            List.of(m.group(1), m.group(2), m.group(3), m.group(4)));
                    maxReportedStall = Math.max(maxReportedStall, Long.parseLong(m.group(5)));
                    if (i == 0) {
                        assertEquals(next, b.storedCurrent(LINEAR), "the bundle store boots the new version");
                        assertEquals(base, UpgradeJars.version(b.installed.get(LINEAR)).toString(), "the image's jar is never written");
                        assertEquals(next, b.fw.bundle(LINEAR).getVersion().toString());
                    }
                    if (i % 10 == 5) {
                        Matcher mp = REPORT.matcher(b.upgrade(MULTIPATH, mpJars[mpUpgrades++ % 2]));
                        assertTrue(mp.matches(), mp.toString());
                        assertEquals("1", mp.group(4), "the multipath map was rebuilt");
                        maxReportedStall = Math.max(maxReportedStall, Long.parseLong(mp.group(5)));
                    }
                }
                long loopMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                Thread.sleep(200);
                stop.set(true);
                for (Future<Void> f : running) f.get(60, TimeUnit.SECONDS);
                long longestRequestMillis = verifiers.stream().mapToLong(v -> v.maxNanos.get()).max().orElse(0) / 1_000_000;
                System.out.printf("safe upgrade x50 linear + x%d multipath in %d ms: %d verified pairs, longest request %d ms, max reported stall %d ms%n",
                        mpUpgrades, loopMillis, verifiers.stream().mapToLong(v -> v.ops.get()).sum(), longestRequestMillis, maxReportedStall);
                for (LiveUpgradeTest.Verifier v : verifiers) {
                    assertEquals(0, v.errors.get(), "I/O errors: " + v.firstErrors);
                    assertEquals(0, v.mismatches.get(), "verify mismatches");
                    assertTrue(v.ops.get() > 50, "the client kept running: " + v.ops.get());
                }
                assertEquals(pathState, b.dm.status(ref("mp")).get(0).text(), "path states, fail counts and the group in use survive");

                List<DeviceEvent> swaps = events(b, "up-linear", EventKind.BUNDLE_SWAPPED);
                assertEquals(50, swaps.size(), "one BUNDLE_SWAPPED per upgrade");
                DeviceEvent last = swaps.get(swaps.size() - 1);
                assertEquals(LINEAR, last.details().get("bundle"));
                assertEquals(next, last.details().get("from"));
                assertEquals(base, last.details().get("to"));
                assertTrue(Long.parseLong(last.details().get("stall_ms")) >= 0);
                assertEquals(5, events(b, "mp", EventKind.BUNDLE_SWAPPED).size());
                assertEquals(MULTIPATH, events(b, "mp", EventKind.BUNDLE_SWAPPED).get(0).details().get("bundle"));
                assertEquals(pathFailures, events(b, "mp", EventKind.PATH_FAILED).size(), "no path failed during the upgrades");
                assertEquals(base, b.fw.bundle(LINEAR).getVersion().toString());
                assertEquals(next, b.fw.bundle(MULTIPATH).getVersion().toString());
                assertEquals(next, b.storedCurrent(MULTIPATH), "the bundle store boots the new multipath version");
            } finally {
                stop.set(true);
                pool.shutdownNow();
                for (BlockDevice h : handles) h.close();
            }

            UpgradeBench.Result ok = b.ddsetup("upgrade", LINEAR, linearJars[0].toString());
            assertEquals(0, ok.exit(), ok.toString());
            assertEquals("", ok.stderr());
            Matcher m = REPORT.matcher(ok.stdout());
            assertTrue(m.matches(), ok.stdout());
            assertEquals(List.of(LINEAR, base, next, "4"), List.of(m.group(1), m.group(2), m.group(3), m.group(4)));
            assertEquals(next, b.storedCurrent(LINEAR));
            UpgradeBench.Result missing = b.ddsetup("upgrade", "org.ddmapper.target.nosuch", linearJars[0].toString());
            assertEquals(1, missing.exit());
            assertEquals("ddsetup: no bundle org.ddmapper.target.nosuch is installed: No such file or directory\n", missing.stderr());
        }
    }

    @Test
    void brokenNewVersionsRollBackWithTheDevicesServingAndSayWhy() throws Exception {
        EmbeddedFramework.Builder builder = EmbeddedFramework.builder().property("ddmapper.core.upgradeTimeoutMillis", "1500");
        try (UpgradeBench b = new UpgradeBench(dir, builder, LINEAR)) {
            Path jars = Files.createDirectories(dir.resolve("new"));
            Path installed = b.installed.get(LINEAR);
            byte[] installedBytes = Files.readAllBytes(installed);
            String base = UpgradeJars.version(installed).toString();
            Path img = b.fx.file("v0.img", 2048);
            b.dm.create("v0", "0 2048 linear " + img + " 0");
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try (BlockDevice h = b.dm.open(ref("v0"))) {
                LiveUpgradeTest.Verifier v = new LiveUpgradeTest.Verifier(h, 0, 1024, stop);
                Future<Void> client = pool.submit(v);

                // 1. does not resolve: refused before anything is touched
                Path unresolvable = UpgradeJars.rewrite(installed, jars.resolve("unresolvable.jar"), a -> a.putValue("Import-Package",
                        a.getValue("Import-Package") + ",org.ddmapper.nosuch;version=\"[1.0,2)\""));
                long nr = EventStream.position(b.dm, ref("v0"));
                DmException e = assertThrows(DmException.class, () -> b.upgrade(LINEAR, unresolvable));
                assertEquals(Errno.EINVAL, e.errno());
                assertEquals("upgrade of " + LINEAR + " " + base + " to " + base + " refused: the new bundle would not resolve, as it imports"
                        + " package 'org.ddmapper.nosuch' (version [1.0,2)), which no bundle exports; nothing was changed", e.getMessage());
                assertEquals(nr, EventStream.position(b.dm, ref("v0")), "the device saw nothing");
                Path needsCapability = UpgradeJars.rewrite(installed, jars.resolve("capability.jar"), a -> a.putValue("Require-Capability",
                        a.getValue("Require-Capability") + ",ddmapper.nosuch;filter:=\"(flavour=strawberry)\""));
                e = assertThrows(DmException.class, () -> b.upgrade(LINEAR, needsCapability));
                assertEquals(Errno.EINVAL, e.errno());
                assertEquals("upgrade of " + LINEAR + " " + base + " to " + base + " refused: the new bundle would not resolve, as it requires"
                        + " capability 'ddmapper.nosuch' (flavour=strawberry), which no bundle provides; nothing was changed", e.getMessage());
                assertEquals(nr, EventStream.position(b.dm, ref("v0")), "the device saw nothing");
                assertEquals(List.of(LINEAR), java.util.Arrays.stream(b.fw.context().getBundles())
                        .filter(x -> LINEAR.equals(x.getSymbolicName())).map(Bundle::getSymbolicName).toList(), "the probe is gone");

                // 2. the new constructor refuses the live table: rolled back
                Path refusing = UpgradeJars.refusing(LINEAR, "9.9.9", jars.resolve("refusing.jar"));
                long t0 = System.nanoTime();
                e = assertThrows(DmException.class, () -> b.upgrade(LINEAR, refusing));
                long rollbackMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(Errno.ECANCELED, e.errno());
                assertEquals("upgrade of " + LINEAR + " " + base + " to 9.9.9 rolled back: target 'linear' rejected the live table of"
                        + " device 'v0': line 1: linear: this build refuses every table", e.getMessage());
                DeviceEvent rolledBack = events(b, "v0", EventKind.BUNDLE_ROLLED_BACK).get(0);
                assertEquals(Map.of("bundle", LINEAR, "from", base, "to", "9.9.9", "reason",
                        "target 'linear' rejected the live table of device 'v0': line 1: linear: this build refuses every table"),
                        without(rolledBack.details(), "stall_ms"));
                assertTrue(b.dm.events(ref("v0"), nr).stream().noneMatch(x -> x.kind() == EventKind.BUNDLE_SWAPPED),
                        "a rollback is no swap: " + b.dm.events(ref("v0"), nr));
                assertEquals(base, b.fw.bundle(LINEAR).getVersion().toString());
                assertEquals(Bundle.ACTIVE, b.fw.bundle(LINEAR).getState());
                assertFalse(b.dm.info(ref("v0")).suspended());

                // 3. the new version does not start (its activator is missing): rolled back
                Path noStart = UpgradeJars.rewrite(installed, jars.resolve("nostart.jar"), a -> {
                    a.putValue("Bundle-Version", "9.9.8");
                    a.putValue("Bundle-Activator", "org.ddmapper.nosuch.Activator");
                });
                e = assertThrows(DmException.class, () -> b.upgrade(LINEAR, noStart));
                assertTrue(e.getMessage().startsWith("upgrade of " + LINEAR + " " + base + " to 9.9.8 rolled back: it does not start: "),
                        e.getMessage());
                assertTrue(e.getMessage().contains("org.ddmapper.nosuch.Activator"), e.getMessage());

                // 4. its types never register (no components): rolled back after the timeout; a second upgrade meanwhile is refused
                Path silent = UpgradeJars.rewrite(installed, jars.resolve("silent.jar"), a -> {
                    a.putValue("Bundle-Version", "9.9.7");
                    a.remove(new java.util.jar.Attributes.Name("Service-Component"));
                });
                Future<DmException> slow = pool.submit(() -> assertThrows(DmException.class, () -> b.upgrade(LINEAR, silent)));
                Waits.await("the slow upgrade to park v0", () -> b.dm.info(ref("v0")).suspended());
                DmException busy = assertThrows(DmException.class, () -> b.upgrade(LINEAR, unresolvable));
                assertEquals(Errno.EBUSY, busy.errno());
                assertEquals("an upgrade of " + LINEAR + " is running; try again when it has finished", busy.getMessage());
                e = slow.get(30, TimeUnit.SECONDS);
                assertEquals("upgrade of " + LINEAR + " " + base + " to 9.9.7 rolled back: its target types linear, striped did not register"
                        + " within 1500 ms", e.getMessage());
                assertEquals(3, events(b, "v0", EventKind.BUNDLE_ROLLED_BACK).size());

                Thread.sleep(200);
                stop.set(true);
                client.get(30, TimeUnit.SECONDS);
                assertEquals(0, v.errors.get(), "I/O errors: " + v.firstErrors);
                assertEquals(0, v.mismatches.get());
                System.out.printf("rollback of a refusing constructor took %d ms; longest request %d ms%n", rollbackMillis,
                        v.maxNanos.get() / 1_000_000);
            } finally {
                stop.set(true);
                pool.shutdownNow();
            }
            assertArrayEquals(installedBytes, Files.readAllBytes(installed), "the bundle directory keeps the old jar");
            assertEquals(base, b.fw.bundle(LINEAR).getVersion().toString());
        }
    }

    @Test
    void badInputGetsASentenceAndChangesNothing() throws Exception {
        try (UpgradeBench b = new UpgradeBench(dir, EmbeddedFramework.builder(), LINEAR)) {
            Path installed = b.installed.get(LINEAR);
            byte[] before = Files.readAllBytes(installed);
            Path text = Files.writeString(dir.resolve("notes.txt"), "not a jar");
            Path other = EmbeddedFramework.bundleJar("org.ddmapper.target.fault");
            b.dm.create("v1", "0 64 linear " + b.fx.file("v1.img", 64) + " 0");
            long nr = EventStream.position(b.dm, ref("v1"));
            record Case(String bundle, Path jar, Errno errno, String sentence) { }
            List<Case> cases = List.of(
                    new Case("org.ddmapper.target.nosuch", installed, Errno.ENOENT, "no bundle org.ddmapper.target.nosuch is installed"),
                    new Case(LINEAR, dir.resolve("missing.jar"), Errno.ENOENT, "no file " + dir.resolve("missing.jar")),
                    new Case(LINEAR, text, Errno.EINVAL, text + " is not a jar (zip END header not found)"),
                    new Case(LINEAR, other, Errno.EINVAL, other + " is bundle org.ddmapper.target.fault, not " + LINEAR),
                    new Case("org.ddmapper.core", installed, Errno.EPERM, "org.ddmapper.core is not a target or checker bundle; only those"
                            + " can be upgraded live (the core, the api, the control and console bundles and the framework are replaced with a restart)"),
                    new Case("org.ddmapper.control", installed, Errno.EPERM, "org.ddmapper.control is not a target or checker bundle; only those"
                            + " can be upgraded live (the core, the api, the control and console bundles and the framework are replaced with a restart)"));
            for (Case c : cases) {
                DmException e = assertThrows(DmException.class, () -> b.upgrade(c.bundle(), c.jar()), c.toString());
                assertEquals(c.sentence(), e.getMessage());
                assertEquals(c.errno(), e.errno(), c.toString());
            }
            DmException relative = assertThrows(DmException.class, () -> {
                try (var client = org.ddmapper.control.ddlink.DdlinkClient.connect(b.socket)) {
                    client.callOk(org.ddmapper.control.ddlink.Op.UPGRADE, 0,
                            new org.ddmapper.control.ddlink.PayloadWriter().text(LINEAR).nul().text("x.jar").toBytes());
                }
            });
            assertEquals(Errno.EINVAL, relative.errno());
            assertTrue(relative.getMessage().contains("'x.jar' is not absolute"), relative.getMessage());
            assertEquals(nr, EventStream.position(b.dm, ref("v1")), "no device saw anything");
            assertArrayEquals(before, Files.readAllBytes(installed));
            assertEquals(List.of(), Files.exists(b.fw.home().resolve("staging")) ? listing(b.fw.home().resolve("staging")) : List.of(),
                    "staging is cleaned up");
        }
    }

    @Test
    void aStoppedTargetBundleHoldsIoForTheWaitThenFailsItAndStatusNamesTheType() throws Exception {
        EmbeddedFramework.Builder builder = EmbeddedFramework.builder().property("ddmapper.core.typeWaitMillis", "800");
        try (UpgradeBench b = new UpgradeBench(dir, builder, LINEAR)) {
            Path img = b.fx.file("s0.img", 64);
            b.dm.create("s0", "0 64 linear " + img + " 0");
            Bundle linear = b.fw.bundle(LINEAR);
            try (BlockDevice dev = b.dm.open(ref("s0")); var c = org.ddmapper.control.ddlink.DdlinkClient.connect(b.socket)) {
                linear.stop();
                assertEquals("0 64 linear waiting for target type 'linear'\n", text(c, org.ddmapper.control.ddlink.Op.STATUS, "s0"));
                String info = text(c, org.ddmapper.control.ddlink.Op.INFO, "s0");
                assertTrue(info.contains("State:             SUSPENDED\n") && info.contains("Missing type:      linear\n"), info);
                var waiting = Io.writeAsync(dev, 0, Io.filled(1, 3), 0);
                Thread.sleep(300);
                assertFalse(waiting.isDone(), "I/O waits while the type is away");
                var failed = waiting.get(10, TimeUnit.SECONDS);
                assertEquals(Errno.EIO, failed.errno());
                String reason = "target type 'linear' is not registered (waited 800 ms); I/O fails until it returns";
                assertEquals(reason, failed.message());
                assertEquals("0 64 linear " + reason + "\n", text(c, org.ddmapper.control.ddlink.Op.STATUS, "s0"));
                linear.start();
                Waits.await("s0 serves again", () -> !b.dm.info(ref("s0")).suspended());
                assertEquals("0 64 linear \n", text(c, org.ddmapper.control.ddlink.Op.STATUS, "s0"));
                assertTrue(Io.write(dev, 0, Io.filled(1, 4)).isOk());
            }
            assertEquals(4, CoreFixture.sectorOf(img, 0)[0]);
        }
    }

    @Test
    void aMultipathUpgradeWithEveryPathDownKeepsTheQueuedWrite() throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("multipath.conf"), "defaults {\n    polling_interval 600\n    max_polling_interval 600\n}\n");
        EmbeddedFramework.Builder builder = EmbeddedFramework.builder().etc(etc).property("ddmapper.core.upgradeTimeoutMillis", "3000");
        try (UpgradeBench b = new UpgradeBench(dir, builder, MULTIPATH)) {
            Waits.awaitTypes(b.dm, "multipath");
            Path installed = b.installed.get(MULTIPATH);
            String base = UpgradeJars.version(installed).toString();
            String next = UpgradeJars.nextMicro(UpgradeJars.version(installed));
            Path nextJar = UpgradeJars.withVersion(installed, Files.createDirectories(dir.resolve("new")).resolve("mp-next.jar"), next);
            // two paths to one LUN, both failing; then gone altogether, so that a rebuild cannot open either
            Path lun = b.fx.file("lun.img", 64);
            b.dm.create("pe1", "0 64 error");
            b.dm.create("pe2", "0 64 error");
            b.dm.create("mpd", "0 64 multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 1 dm:pe1 1 dm:pe2 1");
            try (BlockDevice h = b.dm.open(ref("mpd"))) {
                var queued = Io.writeAsync(h, 3, Io.filled(1, 0x5a), 0);
                Waits.await("both paths failed and the write queued", () -> b.dm.status(ref("mpd")).get(0).text()
                        .matches("2 [01] 0 0 1 1 [AE] 0 2 0 dm:pe1 F 1 dm:pe2 F 1 ") && b.dm.message(ref("mpd"), new TargetRef.ByIndex(0),
                        Message.of("show", "topology")).contains(" queued=1\n"));
                b.dm.remove(ref("pe1"), true);
                b.dm.remove(ref("pe2"), true);

                Matcher m = REPORT.matcher(b.upgrade(MULTIPATH, nextJar));
                assertTrue(m.matches(), m.toString());
                assertEquals(List.of(MULTIPATH, base, next, "1"), List.of(m.group(1), m.group(2), m.group(3), m.group(4)));
                assertEquals(next, b.fw.bundle(MULTIPATH).getVersion().toString());
                assertTrue(events(b, "mpd", EventKind.BUNDLE_ROLLED_BACK).isEmpty());
                assertEquals(1, events(b, "mpd", EventKind.BUNDLE_SWAPPED).size());
                String status = b.dm.status(ref("mpd")).get(0).text();
                assertTrue(status.matches("2 [01] 0 0 1 1 [AE] 0 2 0 dm:pe1 F 1 dm:pe2 F 1 "), "path states and fail counts kept: " + status);
                assertFalse(queued.isDone(), "the write still waits for a path");

                b.dm.create("pe1", "0 64 linear " + lun + " 0");
                b.dm.message(ref("mpd"), new TargetRef.ByIndex(0), Message.of("reinstate_path", "dm:pe1"));
                var done = queued.get(15, TimeUnit.SECONDS);
                assertTrue(done.isOk(), done.toString());
                assertArrayEquals(Io.filled(1, 0x5a), Io.read(h, 3, 512));
            }
            assertArrayEquals(Io.filled(1, 0x5a), CoreFixture.sectorOf(lun, 3));
        }
    }

    @Test
    void aNewVersionRefusingOnlyTheInactiveTableRollsBackAndTheTableStaysLoaded() throws Exception {
        EmbeddedFramework.Builder builder = EmbeddedFramework.builder().property("ddmapper.core.upgradeTimeoutMillis", "3000");
        try (UpgradeBench b = new UpgradeBench(dir, builder, LINEAR)) {
            Waits.awaitTypes(b.dm, "zero");
            String base = UpgradeJars.version(b.installed.get(LINEAR)).toString();
            Path img = b.fx.file("iv.img", 64);
            b.dm.create("iv", "0 64 zero");
            b.dm.load(ref("iv"), "0 64 linear " + img + " 0");
            long nr = EventStream.position(b.dm, ref("iv"));
            Path refusing = UpgradeJars.refusing(LINEAR, "9.9.9", Files.createDirectories(dir.resolve("new")).resolve("refusing.jar"));
            DmException e = assertThrows(DmException.class, () -> b.upgrade(LINEAR, refusing));
            assertEquals(Errno.ECANCELED, e.errno());
            String reason = "target 'linear' rejected the inactive table of device 'iv': line 1: linear: this build refuses every table";
            assertEquals("upgrade of " + LINEAR + " " + base + " to 9.9.9 rolled back: " + reason, e.getMessage());
            assertEquals(reason, events(b, "iv", EventKind.BUNDLE_ROLLED_BACK).get(0).details().get("reason"));
            assertEquals(base, b.fw.bundle(LINEAR).getVersion().toString());
            assertTrue(b.dm.events(ref("iv"), nr).stream().noneMatch(x -> x.kind() == EventKind.TABLE_CLEARED), b.dm.events(ref("iv"), nr).toString());
            assertEquals("LIVE & INACTIVE", b.dm.info(ref("iv")).tablesPresent());
            Waits.await("the old version rebuilt the inactive table", () -> {
                try {
                    b.dm.resume(ref("iv"));
                    return true;
                } catch (DmException notYet) {
                    return false;
                }
            });
            assertEquals("0 64 linear " + img + " 0", b.dm.table(ref("iv"), false).get(0).toString());
            try (BlockDevice h = b.dm.open(ref("iv"))) {
                assertTrue(Io.write(h, 1, Io.filled(1, 7)).isOk());
            }
            assertEquals(7, CoreFixture.sectorOf(img, 1)[0]);
        }
    }

    @Test
    void anUpgradeWhoseDevicesDoNotDrainIsRefusedBeforeAnythingChangesAndErrorsNoIo() throws Exception {
        EmbeddedFramework.Builder builder = EmbeddedFramework.builder().property("ddmapper.core.upgradeTimeoutMillis", "1500");
        try (UpgradeBench b = new UpgradeBench(dir, builder, LINEAR)) {
            Waits.awaitTypes(b.dm, "delay");
            Path installed = b.installed.get(LINEAR);
            byte[] installedBytes = Files.readAllBytes(installed);
            String base = UpgradeJars.version(installed).toString();
            String next = UpgradeJars.nextMicro(UpgradeJars.version(installed));
            Path nextJar = UpgradeJars.withVersion(installed, Files.createDirectories(dir.resolve("new")).resolve("linear-next.jar"), next);
            Path img = b.fx.file("hang.img", 64);
            b.dm.create("hang", "0 64 delay " + img + " 0 60000");
            b.dm.create("over", "0 64 linear dm:hang 0");
            try (BlockDevice h = b.dm.open(ref("over"))) {
                var inFlight = Io.writeAsync(h, 2, Io.filled(1, 0x33), 0);
                Waits.await("the write held below", () -> b.dm.status(ref("hang")).get(0).text().equals("0 1 0"));
                long nr = EventStream.position(b.dm, ref("over"));
                DmException e = assertThrows(DmException.class, () -> b.upgrade(LINEAR, nextJar));
                assertEquals(Errno.ETIMEDOUT, e.errno());
                assertEquals("upgrade of " + LINEAR + " " + base + " to " + next + " refused: device 'over' still has 1 request in flight"
                        + " after 1500 ms; nothing was changed", e.getMessage());
                assertEquals(base, b.fw.bundle(LINEAR).getVersion().toString());
                assertArrayEquals(installedBytes, Files.readAllBytes(installed));
                assertEquals(List.of(), b.dm.events(ref("over"), nr), "the device saw nothing");
                assertFalse(b.dm.info(ref("over")).suspended());
                assertFalse(inFlight.isDone(), "the write is still in flight, not errored");
                b.dm.suspend(ref("hang"), false); // the delay target sends what it holds on
                assertTrue(inFlight.get(15, TimeUnit.SECONDS).isOk());
                b.dm.resume(ref("hang"));
                b.dm.load(ref("hang"), "0 64 linear " + img + " 0");
                b.dm.resume(ref("hang"));
                Matcher m = REPORT.matcher(b.upgrade(LINEAR, nextJar));
                assertTrue(m.matches(), m.toString());
                assertEquals("2", m.group(4));
                assertTrue(Io.write(h, 4, Io.filled(1, 0x44)).isOk());
            }
            assertEquals(0x33, CoreFixture.sectorOf(img, 2)[0]);
            assertEquals(0x44, CoreFixture.sectorOf(img, 4)[0]);
        }
    }

    @Test
    void theReportedStallCountsOnlyDevicesThisUpgradeParked() throws Exception {
        EmbeddedFramework.Builder builder = EmbeddedFramework.builder().property("ddmapper.core.typeWaitMillis", "60000");
        try (UpgradeBench b = new UpgradeBench(dir, builder, LINEAR)) {
            Waits.awaitTypes(b.dm, "zero");
            Path installed = b.installed.get(LINEAR);
            String next = UpgradeJars.nextMicro(UpgradeJars.version(installed));
            Path nextJar = UpgradeJars.withVersion(installed, Files.createDirectories(dir.resolve("new")).resolve("linear-next.jar"), next);
            Path img = b.fx.file("st.img", 64);
            b.dm.create("st", "0 64 linear " + img + " 0");
            // a long park first: the linear bundle stopped for a while
            Bundle linear = b.fw.bundle(LINEAR);
            linear.stop();
            long stoppedAt = System.nanoTime();
            Waits.await("a second of stall", () -> System.nanoTime() - stoppedAt > TimeUnit.MILLISECONDS.toNanos(1000));
            linear.start();
            Waits.await("st serves again", () -> !b.dm.info(ref("st")).suspended());
            DeviceEvent swapped = events(b, "st", EventKind.BUNDLE_SWAPPED).get(0);
            assertTrue(Long.parseLong(swapped.details().get("stall_ms")) >= 1000, swapped.toString());
            // now st uses linear only in its inactive table: the upgrade does not park it
            b.dm.load(ref("st"), "0 64 zero");
            b.dm.resume(ref("st"));
            b.dm.load(ref("st"), "0 64 linear " + img + " 0");
            String report = b.upgrade(LINEAR, nextJar);
            Matcher m = REPORT.matcher(report);
            assertTrue(m.matches(), report);
            assertEquals(List.of("1", "0"), List.of(m.group(4), m.group(5)), "st kept serving: " + report);
            assertFalse(b.dm.info(ref("st")).suspended());
            assertEquals("0 64 linear " + img + " 0", b.dm.table(ref("st"), true).get(0).toString());
        }
    }

    static String text(org.ddmapper.control.ddlink.DdlinkClient c, org.ddmapper.control.ddlink.Op op, String name) throws java.io.IOException {
        return new String(c.callOk(op, 0, org.ddmapper.control.ddlink.PayloadWriter.of(name)), java.nio.charset.StandardCharsets.UTF_8);
    }

    static List<String> listing(Path dir) throws java.io.IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    static Map<String, String> without(Map<String, String> m, String key) {
        Map<String, String> copy = new java.util.HashMap<>(m);
        copy.remove(key);
        return copy;
    }
}
