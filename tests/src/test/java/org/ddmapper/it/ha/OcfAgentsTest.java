package org.ddmapper.it.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.ddmapper.it.multipath.NbdPeer;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Pacemaker resource agents of the distribution (lib/ocf/resource.d/ddmapper/appliance and
 * device) under Debian's ocf-tester (every action, the exit codes Pacemaker expects, probes,
 * double start and stop), and the answers the cluster acts on: a configuration error is
 * OCF_ERR_CONFIGURED (6) with a reason naming what is wrong, a stopped resource is OCF_NOT_RUNNING
 * (7), the deep monitor (OCF_CHECK_LEVEL=10) reads through the NBD export and fails when the read does,
 * and path_moves hands a failed path a socket to where its storage moved (bin/ddmapper-reconnect), so a
 * write queued meanwhile completes with no client error; stop with I/O queued for a dead path returns at
 * once and fails that I/O.
 */
class OcfAgentsTest {
    private static final int OCF_SUCCESS = 0;
    private static final int OCF_ERR_GENERIC = 1;
    private static final int OCF_ERR_CONFIGURED = 6;
    private static final int OCF_NOT_RUNNING = 7;

    @TempDir
    Path dir;

    private static Path agent(String name) {
        return Appliance.distribution().resolve("lib/ocf/resource.d/ddmapper/" + name);
    }

    @Test
    void applianceAgentPassesOcfTester() throws Exception {
        String tester = Peers.require("ocf-tester");
        Peers.Result r = Peers.run(300, tester, "-n", "app", "-o", "home=" + dir.resolve("home"), "-o", "nbd=127.0.0.1:0", "-o", "options=--http none",
                "-o", "java_opts=" + Appliance.TEST_JAVA_OPTS, agent("appliance").toString());
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("passed all tests"), r.output());
        // its last action is a stop: the agent's pid file goes with the appliance
        assertFalse(Files.exists(dir.resolve("home/run/ocf-appliance.pid")), "ocf-tester left the appliance running");
    }

    @Test
    void deviceAgentPassesOcfTesterAndItsDeepMonitorReadsThroughTheExport() throws Exception {
        String tester = Peers.require("ocf-tester");
        Peers.require("qemu-io");
        Path disk = dir.resolve("disk.img");
        Files.write(disk, new byte[8 << 20]);
        try (Appliance appliance = Appliance.start(dir.resolve("home"))) {
            String home = dir.resolve("home").toString();
            Peers.Result r = Peers.run(300, tester, "-n", "dev", "-o", "home=" + home, "-o", "name=lun0",
                    "-o", "table=0 16384 linear " + disk + " 0", agent("device").toString());
            assertEquals(0, r.exit(), r.output());
            assertTrue(r.output().contains("passed all tests"), r.output());
            assertFalse(appliance.ddsetup("ls").stdout().contains("lun0"), "ocf-tester left lun0 behind");

            // this appliance was not started by the agent (no ready line in its home): tell the deep monitor the export's address
            String nbd = appliance.nbdUri("x").replaceFirst("^nbd://", "").replaceFirst("/x$", "");
            Map<String, String> lun = Map.of("OCF_RESKEY_home", home, "OCF_RESKEY_name", "lun0", "OCF_RESKEY_nbd", nbd,
                    "OCF_RESKEY_table", "0 16384 linear " + disk + " 0");
            assertEquals(OCF_NOT_RUNNING, run("device", "monitor", lun).exit(), "monitor before start");
            assertEquals(OCF_SUCCESS, run("device", "start", lun).exit());
            assertEquals(OCF_SUCCESS, run("device", "monitor", withDepth(lun)).exit(), "deep monitor of a readable device");

            // a device whose reads fail: the deep monitor says so (the shallow one cannot know)
            Map<String, String> bad = Map.of("OCF_RESKEY_home", home, "OCF_RESKEY_name", "broken", "OCF_RESKEY_nbd", nbd,
                    "OCF_RESKEY_table", "0 16384 error");
            assertEquals(OCF_SUCCESS, run("device", "start", bad).exit());
            assertEquals(OCF_SUCCESS, run("device", "monitor", bad).exit());
            Peers.Result deep = run("device", "monitor", withDepth(bad));
            assertEquals(OCF_ERR_GENERIC, deep.exit(), deep.output());
            assertTrue(deep.output().contains("reading broken through nbd://"), deep.output());
            assertEquals(OCF_SUCCESS, run("device", "stop", bad).exit());
            assertEquals(OCF_SUCCESS, run("device", "monitor", withDepth(lun)).exit(), "lun0 disturbed by broken");
            assertEquals(OCF_SUCCESS, run("device", "stop", lun).exit());
            assertEquals(OCF_NOT_RUNNING, run("device", "monitor", lun).exit(), "monitor after stop");
        }
    }

    @Test
    void aBadTableFailsTheStartWithTheReasonAndLeavesNoDevice() throws Exception {
        Peers.require("ocf-tester");
        try (Appliance appliance = Appliance.start(dir.resolve("home"))) {
            Map<String, String> env = Map.of("OCF_RESKEY_home", dir.resolve("home").toString(), "OCF_RESKEY_name", "lun0",
                    "OCF_RESKEY_table", "0 16384 no-such-target");
            Peers.Result start = run("device", "start", env);
            assertEquals(OCF_ERR_GENERIC, start.exit(), start.output());
            assertTrue(start.output().contains("ddsetup create lun0:") && start.output().contains("no-such-target"), start.output());
            assertEquals(OCF_NOT_RUNNING, run("device", "monitor", env).exit());
            assertFalse(appliance.ddsetup("ls").stdout().contains("lun0"), "a failed start left lun0");
        }
    }

    @Test
    void configurationErrorsAreOcfErrConfiguredWithAReason() throws Exception {
        Peers.require("ocf-tester");
        Peers.Result noName = run("device", "validate-all", Map.of("OCF_RESKEY_table", "0 8 zero"));
        assertEquals(OCF_ERR_CONFIGURED, noName.exit());
        assertTrue(noName.output().contains("the parameter name is required"), noName.output());
        Peers.Result both = run("device", "validate-all", Map.of("OCF_RESKEY_name", "d", "OCF_RESKEY_table", "0 8 zero",
                "OCF_RESKEY_table_file", "/etc/hostname"));
        assertEquals(OCF_ERR_CONFIGURED, both.exit());
        assertTrue(both.output().contains("give table or table_file, not both"), both.output());
        Peers.Result nbd = run("appliance", "start", Map.of("OCF_RESKEY_home", dir.resolve("h").toString(), "OCF_RESKEY_nbd", "10809"));
        assertEquals(OCF_ERR_CONFIGURED, nbd.exit());
        assertTrue(nbd.output().contains("nbd '10809' is not HOST:PORT or none"), nbd.output());
        assertFalse(Files.exists(dir.resolve("h")), "a refused start created the home");
        Peers.Result relative = run("appliance", "validate-all", Map.of("OCF_RESKEY_home", "var/ddmapper"));
        assertEquals(OCF_ERR_CONFIGURED, relative.exit());
        assertTrue(relative.output().contains("home 'var/ddmapper' is not an absolute path"), relative.output());
    }

    @Test
    void applianceStartWaitsForReadyAndStopLeavesNoProcess() throws Exception {
        Peers.require("ocf-tester");
        Map<String, String> env = Map.of("OCF_RESKEY_home", dir.resolve("home").toString(), "OCF_RESKEY_nbd", "127.0.0.1:0",
                "OCF_RESKEY_java_opts", Appliance.TEST_JAVA_OPTS);
        assertEquals(OCF_NOT_RUNNING, run("appliance", "monitor", env).exit());
        assertEquals(OCF_SUCCESS, run("appliance", "start", env).exit());
        long pid = Long.parseLong(Files.readString(dir.resolve("home/run/ocf-appliance.pid")).trim());
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        Peers.Result deep = run("appliance", "monitor", Map.of("OCF_RESKEY_home", dir.resolve("home").toString(), "OCF_CHECK_LEVEL", "10"));
        assertEquals(OCF_SUCCESS, deep.exit(), deep.output());
        assertEquals(OCF_SUCCESS, run("appliance", "stop", env).exit());
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the appliance survived stop");
        assertEquals(OCF_NOT_RUNNING, run("appliance", "monitor", env).exit());
    }

    @Test
    void pathMovesHandsAFailedPathAConnectionToItsStoragesNewPlaceWithNoClientError() throws Exception {
        Peers.require("ocf-tester");
        String qemuIo = Peers.require("qemu-io");
        Peers.require("nbdkit");
        Path disk = dir.resolve("lun.img");
        Files.write(disk, new byte[8 << 20]);
        try (Appliance appliance = Appliance.start(dir.resolve("home"));
             NbdPeer old = NbdPeer.unix(NbdPeer.Kind.NBDKIT, disk, dir.resolve("a.sock"))) {
            String path = old.reference();
            Map<String, String> env = Map.of("OCF_RESKEY_home", dir.resolve("home").toString(), "OCF_RESKEY_name", "mp",
                    "OCF_RESKEY_table", "0 16384 multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 1 " + path + " 1",
                    "OCF_RESKEY_path_moves", path + "=unix:" + dir.resolve("gone.sock") + ",unix:" + dir.resolve("b.sock"));
            assertEquals(OCF_SUCCESS, run("device", "start", env).exit());
            old.kill(); // the storage controller fails over: its old address is gone, the new one is b.sock
            try (NbdPeer moved = NbdPeer.unix(NbdPeer.Kind.NBDKIT, disk, dir.resolve("b.sock"))) {
                // a client's write waits, queued on the failed path
                Process write = new ProcessBuilder(qemuIo, "-f", "raw", appliance.nbdUri("mp"), "-c", "write -P 0x5a 0 1M")
                        .redirectErrorStream(true).start();
                try {
                    long deadline = System.nanoTime() + 30_000_000_000L;
                    while (!appliance.ddsetup("status", "mp").stdout().contains(path + " F ")) {
                        assertTrue(System.nanoTime() < deadline, "the path did not fail: " + appliance.ddsetup("status", "mp"));
                        Thread.sleep(100);
                    }
                    assertTrue(write.isAlive(), "the write did not wait for the path");
                    Peers.Result monitor = run("device", "monitor", env);
                    assertEquals(OCF_SUCCESS, monitor.exit(), monitor.output());
                    assertTrue(monitor.output().contains("reconnected through unix:" + dir.resolve("b.sock")), monitor.output());
                    assertTrue(write.waitFor(30, TimeUnit.SECONDS), "the queued write did not complete after the reconnect");
                    String wrote = new String(write.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    assertEquals(0, write.exitValue(), wrote);
                    assertTrue(wrote.contains("wrote 1048576/1048576 bytes"), wrote);
                } finally {
                    if (write.isAlive()) Peers.kill(write);
                }
                assertTrue(appliance.ddsetup("status", "mp").stdout().contains(path + " A "), "the path is not active again");
                String read = Peers.ok(60, qemuIo, "-f", "raw", "-r", appliance.nbdUri("mp"), "-c", "read -P 0x5a 0 1M");
                assertTrue(read.contains("read 1048576/1048576 bytes"), read);
                // the bytes are on the storage itself
                String direct = Peers.ok(60, qemuIo, "-f", "raw", "-r", disk.toString(), "-c", "read -P 0x5a 0 1M");
                assertTrue(direct.contains("read 1048576/1048576 bytes"), direct);
                assertEquals(OCF_SUCCESS, run("device", "stop", env).exit());
            }
        }
    }

    @Test
    void stopWithIoQueuedForAFailedPathFailsTheIoAndReturnsAtOnce() throws Exception {
        Peers.require("ocf-tester");
        String qemuIo = Peers.require("qemu-io");
        Peers.require("nbdkit");
        Path disk = dir.resolve("lun.img");
        Files.write(disk, new byte[8 << 20]);
        try (Appliance appliance = Appliance.start(dir.resolve("home"));
             NbdPeer storage = NbdPeer.unix(NbdPeer.Kind.NBDKIT, disk, dir.resolve("a.sock"))) {
            String path = storage.reference();
            Map<String, String> env = Map.of("OCF_RESKEY_home", dir.resolve("home").toString(), "OCF_RESKEY_name", "mp",
                    "OCF_RESKEY_table", "0 16384 multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 1 " + path + " 1");
            assertEquals(OCF_SUCCESS, run("device", "start", env).exit());
            storage.kill();
            Process write = new ProcessBuilder(qemuIo, "-f", "raw", appliance.nbdUri("mp"), "-c", "write -P 0x5a 0 64k")
                    .redirectErrorStream(true).start();
            try {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (!appliance.ddsetup("status", "mp").stdout().contains(path + " F ")) {
                    assertTrue(System.nanoTime() < deadline, "the path did not fail: " + appliance.ddsetup("status", "mp"));
                    Thread.sleep(100);
                }
                Thread.sleep(500);
                assertTrue(write.isAlive(), "the write did not wait, queued");
                Peers.Result stop = run("device", "stop", env);
                assertEquals(OCF_SUCCESS, stop.exit(), stop.output());
                // bounded by the CLI's start, not by the queued write (which would wait forever)
                assertTrue(stop.millis() < 20_000, "stop took " + stop.millis() + " ms");
                assertTrue(write.waitFor(30, TimeUnit.SECONDS), "the queued write still waits after the stop");
                String out = new String(write.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(!out.contains("wrote 65536/65536 bytes"), "a write on a removed device was acknowledged: " + out);
            } finally {
                if (write.isAlive()) Peers.kill(write);
            }
            assertEquals(OCF_NOT_RUNNING, run("device", "monitor", env).exit());
            assertFalse(appliance.ddsetup("ls").stdout().contains("mp"), "the device is still there");
        }
    }

    private static Map<String, String> withDepth(Map<String, String> env) {
        HashMap<String, String> m = new HashMap<>(env);
        m.put("OCF_CHECK_LEVEL", "10");
        return m;
    }

    /** Runs one action of an agent as Pacemaker would (OCF_ROOT, OCF_RESKEY_*), bounded; stdout and stderr in one. */
    private Peers.Result run(String agent, String action, Map<String, String> env) throws Exception {
        Path log = Files.createTempFile(dir, "agent", ".log");
        ProcessBuilder pb = new ProcessBuilder(agent(agent).toString(), action).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("OCF_ROOT", "/usr/lib/ocf");
        pb.environment().put("OCF_RESOURCE_INSTANCE", agent + "-test");
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        if (!env.containsKey("OCF_RESKEY_java_opts")) pb.environment().put("DDMAPPER_JAVA_OPTS", Appliance.TEST_JAVA_OPTS);
        pb.environment().put("OCF_RESKEY_options", "--http none"); // no web administration on a fixed port in tests
        pb.environment().putAll(env);
        long start = System.nanoTime();
        Process p = pb.start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) return new Peers.Result(-1, "timed out: " + Files.readString(log), 120_000);
        } finally {
            if (p.isAlive()) Peers.kill(p);
        }
        return new Peers.Result(p.exitValue(), Files.readString(log), (System.nanoTime() - start) / 1_000_000);
    }
}
