package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real appliance (bin/ddmapper) stopped with SIGTERM while a multipath map with
 * queue_if_no_path holds I/O of real NBD clients: the map's two paths are nbdkit servers (one on
 * a Unix socket, one on TCP), both are killed, two qemu-io clients (a read and a write) block on
 * the map's NBD export, and the appliance gets SIGTERM. It must exit 0 (the launcher's "stopped on
 * request") within {@link Appliance#STOP_TIMEOUT} and leave no process, and each client must get
 * an error instead of hanging. (Measured: about 5 s from SIGTERM to the exit, the NBD server's
 * shutdown grace for in-flight requests, ServerLimits.shutdownGraceMillis; then both clients
 * report an I/O error.)
 */
@Timeout(180)
class ShutdownWithQueuedIoTest {
    static final long SECTORS = 8192; // 4 MiB
    static final Pattern QUEUED = Pattern.compile(" queued=(\\d+)");
    @TempDir Path dir;
    private final List<NbdPeer> peers = new ArrayList<>();
    private final List<Process> clients = new ArrayList<>();
    private Appliance appliance;

    @AfterEach
    void tearDown() {
        clients.forEach(Peers::kill);
        peers.forEach(NbdPeer::close);
        if (appliance != null) appliance.close();
    }

    @Test
    void sigtermEndsTheApplianceAndFailsTheQueuedIoOfItsClients() throws Exception {
        String qemuIo = Peers.require("qemu-io");
        Peers.require("nbdkit");
        Path lun = dir.resolve("lun.img");
        try (var f = new java.io.RandomAccessFile(lun.toFile(), "rw")) {
            f.setLength(SECTORS * 512);
        }
        peers.add(NbdPeer.unix(NbdPeer.Kind.NBDKIT, lun, dir.resolve("p1.sock")));
        peers.add(NbdPeer.tcp(NbdPeer.Kind.NBDKIT, lun, dir));
        appliance = Appliance.start(dir.resolve("home"));
        Appliance.Exit created = appliance.ddsetup("create", "mpq", "--table", "0 " + SECTORS
                + " multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 0 " + peers.get(0).reference() + " " + peers.get(1).reference());
        assertEquals(0, created.code(), created.toString());
        String uri = appliance.nbdUri("mpq");
        // the export works while the paths do
        Peers.Result healthy = Peers.run(30, qemuIo, "-f", "raw", "-c", "write -P 0x5a 0 4k", "-c", "read -P 0x5a 0 4k", uri);
        assertEquals(0, healthy.exit(), healthy.output());
        assertFalse(healthy.output().contains("failed"), healthy.output());

        for (NbdPeer p : peers) p.kill();
        Process reader = client(qemuIo, "read 64k 4k", uri, "reader");
        Process writer = client(qemuIo, "write -P 0x33 128k 4k", uri, "writer");
        // both requests reach the map and wait there: no path is left, and the map queues
        Waits.await("two requests queued in mpq", Duration.ofSeconds(60), () -> queued() >= 2);
        Waits.sleep(500);
        assertTrue(reader.isAlive() && writer.isAlive(), "the clients wait while the map queues");
        List<ProcessHandle> applianceProcesses = new ArrayList<>(ProcessHandle.of(appliance.pid()).orElseThrow().descendants().toList());
        applianceProcesses.add(ProcessHandle.of(appliance.pid()).orElseThrow());

        long start = System.nanoTime();
        Appliance.Exit stopped = appliance.stop(); // SIGTERM; asserts exit 0 within STOP_TIMEOUT and no descendant left
        long stopMillis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(0, stopped.code(), stopped.toString());
        assertTrue(stopMillis < Appliance.STOP_TIMEOUT.toMillis(), "stopped after " + stopMillis + " ms");
        for (ProcessHandle h : applianceProcesses) assertFalse(h.isAlive(), "process " + h.pid() + " left after the stop");

        // the clients get an error, not a hang
        for (Process client : List.of(reader, writer)) {
            if (!client.waitFor(30, TimeUnit.SECONDS)) fail("a client still hangs 30 s after the appliance stopped: " + output(client));
        }
        String read = output(reader);
        String write = output(writer);
        assertTrue(read.contains("read failed"), read);
        assertTrue(write.contains("write failed"), write);
        byte[] onDisk = Files.readAllBytes(lun);
        for (int i = 128 * 1024; i < 132 * 1024; i++) if (onDisk[i] != 0) fail("the failed write reached the disk at byte " + i);
        assertEquals(0x5a, onDisk[0], "the write made while the paths worked is there");
        System.out.println("shutdown with 2 queued requests: SIGTERM to exit " + stopMillis + " ms; reader: "
                + read.strip() + "; writer: " + write.strip());
    }

    /** The requests mpq holds, from ddsetup multipath -ll mpq (-1 when it cannot tell). */
    private int queued() {
        try {
            Appliance.Exit ll = appliance.ddsetup("multipath", "-ll", "mpq");
            Matcher m = QUEUED.matcher(ll.stdout());
            return ll.code() == 0 && m.find() ? Integer.parseInt(m.group(1)) : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    private Process client(String qemuIo, String command, String uri, String name) throws Exception {
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(qemuIo, "-f", "raw", "-c", command, uri).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(new File("/dev/null")).start();
        clients.add(p);
        return p;
    }

    private String output(Process client) throws Exception {
        String name = client == clients.get(0) ? "reader" : "writer";
        return Files.readString(dir.resolve(name + ".log"), StandardCharsets.UTF_8);
    }
}
