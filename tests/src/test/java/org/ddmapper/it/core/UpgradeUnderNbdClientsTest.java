package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Endpoint;
import org.ddmapper.api.EventKind;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.it.multipath.NbdPeer;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Peers;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.EventStream;

/**
 * Issue 7 end to end: real NBD clients (fio's nbd engine, crc32c-verified, several jobs at queue
 * depth 8) on a linear, a striped and a multipath device exported by the appliance's NBD server,
 * the multipath map over nbdkit servers exporting one file with one path's server dead beforehand,
 * while target-linear and target-multipath are each upgraded 50 times through the safe upgrade
 * (ddlink UPGRADE, what ddsetup upgrade sends), alternating two built versions.
 */
@Timeout(300)
class UpgradeUnderNbdClientsTest {
    static final String LINEAR = SafeUpgradeTest.LINEAR;
    static final String MULTIPATH = SafeUpgradeTest.MULTIPATH;
    static final int UPGRADES = 50;
    static final long MIB = 1 << 20;
    /** fio's "issued rwts: total=READS,WRITES,..." of the group. */
    static final Pattern ISSUED = Pattern.compile("issued rwts: total=(\\d+),(\\d+),");

    @TempDir Path dir;
    private final List<NbdPeer> peers = new ArrayList<>();

    @AfterEach
    void stopServers() {
        peers.forEach(NbdPeer::close);
    }

    private NbdPeer peer(NbdPeer p) {
        peers.add(p);
        return p;
    }

    private Path sparse(String name, long bytes) throws Exception {
        Path f = dir.resolve(name);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(bytes);
        }
        return f;
    }

    /** One fio run: two jobs per device (4 MiB each, apart), 4 KiB random writes at queue depth 8, verified as they go and at the end. */
    static List<String> fioCommand(String address) {
        List<String> cmd = new ArrayList<>(List.of(Peers.require("fio"), "--ioengine=nbd", "--output-format=normal", "--eta=never",
                "--verify_state_save=0", "--rw=randwrite", "--bs=4k", "--size=4m", "--numjobs=2", "--offset_increment=4m",
                "--iodepth=8", "--verify=crc32c", "--verify_backlog=256", "--do_verify=1", "--verify_fatal=1", "--group_reporting"));
        for (String dev : List.of("lin", "str", "mp")) cmd.addAll(List.of("--name=" + dev, "--uri=nbd://" + address + "/" + dev));
        return cmd;
    }

    @Test
    void fiftyUpgradesOfLinearAndOfMultipathUnderFioOverNbdKeepDataAndPathState() throws Exception {
        Peers.require("fio");
        Peers.require("nbdkit");
        Path etc = Files.createDirectories(dir.resolve("etc"));
        // the checker stays out of the way: the path states are what the test and the I/O made them
        Files.writeString(etc.resolve("multipath.conf"), "defaults {\n    polling_interval 600\n    max_polling_interval 600\n}\n");
        try (UpgradeBench b = new UpgradeBench(dir, EmbeddedFramework.builder().etc(etc), LINEAR, MULTIPATH)) {
            Waits.awaitTypes(b.dm, "multipath");
            Endpoint nbd = b.fw.service(Endpoint.class, "(kind=nbd)", 15_000);
            assertNull(nbd.failure(), "the NBD listener is up");
            List<DeviceEvent> events = new CopyOnWriteArrayList<>();
            AutoCloseable subscription = b.dm.subscribe(null, events::add);

            Path jars = Files.createDirectories(dir.resolve("new"));
            String linBase = UpgradeJars.version(b.installed.get(LINEAR)).toString();
            String linNext = UpgradeJars.nextMicro(UpgradeJars.version(b.installed.get(LINEAR)));
            String mpBase = UpgradeJars.version(b.installed.get(MULTIPATH)).toString();
            String mpNext = UpgradeJars.nextMicro(UpgradeJars.version(b.installed.get(MULTIPATH)));
            Path[] linearJars = {UpgradeJars.withVersion(b.installed.get(LINEAR), jars.resolve("linear-next.jar"), linNext),
                    Files.copy(b.installed.get(LINEAR), jars.resolve("linear-base.jar"))};
            Path[] mpJars = {UpgradeJars.withVersion(b.installed.get(MULTIPATH), jars.resolve("mp-next.jar"), mpNext),
                    Files.copy(b.installed.get(MULTIPATH), jars.resolve("mp-base.jar"))};

            long sectors = 16 * MIB / 512;
            b.dm.create("lin", "0 " + sectors + " linear " + sparse("lin.img", 16 * MIB) + " 0");
            b.dm.create("str", "0 " + sectors + " striped 2 128 " + sparse("s0.img", 8 * MIB) + " 0 " + sparse("s1.img", 8 * MIB) + " 0");
            Path lun = sparse("lun.img", 16 * MIB);
            NbdPeer dead = peer(NbdPeer.unix(NbdPeer.Kind.NBDKIT, lun, dir.resolve("dead.sock")));
            NbdPeer p1 = peer(NbdPeer.tcp(NbdPeer.Kind.NBDKIT, lun, dir));
            NbdPeer p2 = peer(NbdPeer.unix(NbdPeer.Kind.NBDKIT, lun, dir.resolve("p2.sock")));
            // group 1: the path whose server dies; group 2: two live servers
            b.dm.create("mp", "0 " + sectors + " multipath 1 queue_if_no_path 0 2 1 round-robin 0 1 0 " + dead.reference()
                    + " round-robin 0 2 0 " + p1.reference() + " " + p2.reference());
            dead.kill();
            try (var probe = b.dm.open(DeviceRef.of("mp"))) {
                assertTrue(Io.write(probe, 0, Io.filled(8, 1)).isOk(), "the write fails over from the dead server to group 2");
            }
            Waits.await("the dead path failed and group 2 in use", () -> status(b, "mp").contains(dead.reference() + " F 1"));
            for (int i = 0; i < 3; i++) { // fail counts only the handed-over state keeps (a fresh map would start at 0)
                b.dm.message(DeviceRef.of("mp"), new TargetRef.ByIndex(0), Message.of("fail_path", p2.reference()));
                b.dm.message(DeviceRef.of("mp"), new TargetRef.ByIndex(0), Message.of("reinstate_path", p2.reference()));
            }
            String pathState = status(b, "mp");
            assertEquals("2 0 0 0 2 2 E 0 1 0 " + dead.reference() + " F 1 A 0 2 0 " + p1.reference() + " A 0 " + p2.reference() + " A 3 ",
                    pathState, "dead path failed once, group 2 in use, p2 failed three times");
            String mpTable = b.dm.table(DeviceRef.of("mp"), false).get(0).text();
            java.util.Map<String, Long> eventNrBefore = new java.util.HashMap<>();
            for (String n : List.of("lin", "str", "mp")) eventNrBefore.put(n, EventStream.position(b.dm, DeviceRef.of(n)));

            // fio runs back to back, one run after another, from before the first upgrade to after the last
            AtomicBoolean stop = new AtomicBoolean();
            List<Peers.Result> runs = new CopyOnWriteArrayList<>();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            List<String> fio = fioCommand(nbd.address());
            Future<?> clients = pool.submit(() -> {
                while (!stop.get()) {
                    Peers.Result r = Peers.run(120, fio.toArray(String[]::new));
                    runs.add(r);
                    if (r.exit() != 0) break;
                }
                return null;
            });
            List<Long> linStalls = new ArrayList<>();
            List<Long> mpStalls = new ArrayList<>();
            long loopMillis;
            try {
                Waits.await("fio's six jobs connected", () -> List.of("lin", "str", "mp").stream()
                        .allMatch(n -> b.dm.info(DeviceRef.of(n)).openCount() >= 2) || clients.isDone());
                long t0 = System.nanoTime();
                for (int i = 0; i < UPGRADES && !clients.isDone(); i++) {
                    Matcher m = SafeUpgradeTest.REPORT.matcher(b.upgrade(LINEAR, linearJars[i % 2]));
                    assertTrue(m.matches(), m.toString());
                    assertEquals(List.of(LINEAR, i % 2 == 0 ? linBase : linNext, i % 2 == 0 ? linNext : linBase, "2"),
                            List.of(m.group(1), m.group(2), m.group(3), m.group(4)), "upgrade " + i + " of " + LINEAR);
                    linStalls.add(Long.parseLong(m.group(5)));
                    m = SafeUpgradeTest.REPORT.matcher(b.upgrade(MULTIPATH, mpJars[i % 2]));
                    assertTrue(m.matches(), m.toString());
                    assertEquals(List.of(MULTIPATH, i % 2 == 0 ? mpBase : mpNext, i % 2 == 0 ? mpNext : mpBase, "1"),
                            List.of(m.group(1), m.group(2), m.group(3), m.group(4)), "upgrade " + i + " of " + MULTIPATH);
                    mpStalls.add(Long.parseLong(m.group(5)));
                }
                loopMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            } finally {
                stop.set(true);
                clients.get(150, TimeUnit.SECONDS);
                pool.shutdownNow();
            }
            subscription.close();

            long ios = 0;
            for (int r = 0; r < runs.size(); r++) {
                Peers.Result run = runs.get(r);
                assertEquals(0, run.exit(), "fio run " + (r + 1) + " of " + runs.size() + ":\n" + run.output());
                assertFalse(run.output().contains("verify:") || run.output().contains("bad magic") || run.output().contains("crc32c:"),
                        run.output());
                assertTrue(run.output().contains("err= 0"), run.output());
                Matcher issued = ISSUED.matcher(run.output());
                assertTrue(issued.find(), run.output());
                assertEquals(6 * 1024, Long.parseLong(issued.group(2)), "every write issued: " + issued.group());
                assertEquals(6 * 1024, Long.parseLong(issued.group(1)), "every block read back and verified: " + issued.group());
                ios += Long.parseLong(issued.group(1)) + Long.parseLong(issued.group(2));
            }
            assertEquals(UPGRADES, linStalls.size(), "every upgrade ran while fio did");
            assertEquals(UPGRADES, mpStalls.size());
            System.out.printf("fio over NBD on lin, str, mp: %d runs, %d I/Os, clean; %d + %d upgrades in %d ms; reported stall linear %d-%d ms,"
                    + " multipath %d-%d ms%n", runs.size(), ios, linStalls.size(), mpStalls.size(), loopMillis,
                    linStalls.stream().min(Long::compare).orElseThrow(), linStalls.stream().max(Long::compare).orElseThrow(),
                    mpStalls.stream().min(Long::compare).orElseThrow(), mpStalls.stream().max(Long::compare).orElseThrow());

            assertEquals(pathState, status(b, "mp"), "path states, fail counts and the group in use survive 50 swaps");
            assertEquals(mpTable, b.dm.table(DeviceRef.of("mp"), false).get(0).text());
            List<DeviceEvent> during = events.stream().filter(e -> e.eventNr() > eventNrBefore.getOrDefault(e.device(), Long.MAX_VALUE)).toList();
            for (String dev : List.of("lin", "str", "mp")) {
                String bundle = dev.equals("mp") ? MULTIPATH : LINEAR;
                String base = dev.equals("mp") ? mpBase : linBase;
                String next = dev.equals("mp") ? mpNext : linNext;
                List<DeviceEvent> swaps = during.stream().filter(e -> e.device().equals(dev) && e.kind() == EventKind.BUNDLE_SWAPPED).toList();
                assertEquals(UPGRADES, swaps.size(), dev + ": one BUNDLE_SWAPPED per upgrade of " + bundle + ": " + swaps);
                for (int i = 0; i < swaps.size(); i++) {
                    var d = swaps.get(i).details();
                    assertEquals(List.of(bundle, i % 2 == 0 ? base : next, i % 2 == 0 ? next : base),
                            List.of(d.get("bundle"), d.get("from"), d.get("to")), dev + " swap " + i);
                    assertTrue(Long.parseLong(d.get("stall_ms")) >= 0, d.toString());
                }
            }
            List<EventKind> unexpected = List.of(EventKind.BUNDLE_ROLLED_BACK, EventKind.PATH_FAILED, EventKind.PATH_REINSTATED,
                    EventKind.PG_SWITCHED, EventKind.PG_BYPASSED, EventKind.QUEUE_MODE_CHANGED, EventKind.PATH_DAMPED);
            assertEquals(List.of(), during.stream().filter(e -> unexpected.contains(e.kind())).map(DeviceEvent::toLine).toList(),
                    "no rollback and no path event while upgrading");
            assertEquals(linBase, b.fw.bundle(LINEAR).getVersion().toString());
            assertEquals(mpBase, b.fw.bundle(MULTIPATH).getVersion().toString());
        }
    }

    private static String status(UpgradeBench b, String device) {
        return b.dm.status(DeviceRef.of(device)).get(0).text();
    }
}
