package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.Peers;

/**
 * Socket-fd reconnect end to end, the way a cluster manager would do it: the appliance runs a
 * map whose only path server dies and comes back on another port; {@code ddsetup message …
 * reconnect_path 1 --pass-connect HOST:PORT} connects, passes the socket by SCM_RIGHTS, the
 * target adopts it (NBD handshake on it) and the request that waited completes.
 */
@Timeout(120)
class SocketReconnectTest {
    @TempDir Path dir;

    @Test
    void aPassedSocketBecomesThePathsTransportAndWaitingIoCompletes() throws Exception {
        Peers.require("nbdkit");
        Peers.require("qemu-io");
        Path etc = dir.resolve("etc");
        copy(Appliance.distribution().resolve("etc"), etc);
        // the monitor stays out of the way (60 s): only the message can bring the path back
        Files.writeString(etc.resolve("multipath.conf"), "defaults {\n polling_interval 60\n}\n");
        try (var tables = Files.list(etc.resolve("tables"))) {
            for (Path t : tables.toList()) Files.delete(t);
        }
        Path file = dir.resolve("lun.img");
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(1), 64L * 1024 * 1024 - 1);
        }
        try (NbdPeer first = NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir);
             Appliance appliance = Appliance.builder().home(dir.resolve("home")).args("--etc", etc.toString()).start()) {
            Appliance.Exit created = appliance.ddsetup("create", "mpatha", "--table",
                    "0 131072 multipath 1 queue_if_no_path 0 1 1 round-robin 0 1 0 " + first.reference());
            assertEquals(0, created.code(), created.toString());
            String uri = appliance.nbdUri("mpatha");
            qemuIo(uri, "write -P 0xab 0 64k"); // through the first server

            first.kill();
            try (NbdPeer moved = NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir)) {
                Process waiting = new ProcessBuilder(Peers.require("qemu-io"), "-f", "raw", "-c", "read -P 0xab 0 64k", uri)
                        .redirectErrorStream(true).start();
                try {
                    Thread.sleep(1500);
                    assertTrue(waiting.isAlive(), "the read waits: the only path is gone and the map queues");
                    Appliance.Exit reconnect = appliance.ddsetup("message", "mpatha", "@0", "reconnect_path", "1",
                            "--pass-connect", "127.0.0.1:" + moved.port);
                    assertEquals(0, reconnect.code(), reconnect.toString());
                    assertTrue(waiting.waitFor(30, TimeUnit.SECONDS), "the waiting read completes");
                    String out = new String(waiting.getInputStream().readAllBytes());
                    assertEquals(0, waiting.exitValue(), out);
                    assertFalse(out.contains("Pattern verification failed"), out);
                } finally {
                    if (waiting.isAlive()) Peers.kill(waiting);
                }
                qemuIo(uri, "write -P 0xcd 64k 64k"); // new I/O goes over the adopted socket

                Appliance.Exit status = appliance.ddsetup("status", "mpatha");
                assertTrue(status.stdout().contains(first.reference() + " A 1"), status.toString());
                Appliance.Exit topology = appliance.ddsetup("message", "mpatha", "@0", "show", "topology");
                assertTrue(topology.stdout().contains("`- 1 " + first.reference() + " active"), topology.toString());
            }
        }
    }

    private static void qemuIo(String uri, String command) throws Exception {
        String out = Peers.ok(60, Peers.require("qemu-io"), "-f", "raw", "-c", command, uri);
        assertFalse(out.contains("Pattern verification failed"), out);
    }

    private static void copy(Path from, Path to) throws Exception {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }
}
