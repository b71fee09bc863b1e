package org.ddmapper.it.multipath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
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
        Path etc = ReconnectStage.quietEtc(dir);
        Path file = ReconnectStage.lun(dir);
        try (NbdPeer first = NbdPeer.tcp(NbdPeer.Kind.NBDKIT, file, dir);
             Appliance appliance = Appliance.builder().home(dir.resolve("home")).args("--etc", etc.toString()).start()) {
            String uri = ReconnectStage.mapWrittenThrough(appliance, first);

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
                ReconnectStage.qemuIo(uri, "write -P 0xcd 64k 64k"); // new I/O goes over the adopted socket

                Appliance.Exit status = appliance.ddsetup("status", "mpatha");
                assertTrue(status.stdout().contains(first.reference() + " A 1"), status.toString());
                Appliance.Exit topology = appliance.ddsetup("message", "mpatha", "@0", "show", "topology");
                assertTrue(topology.stdout().contains("`- 1 " + first.reference() + " active"), topology.toString());
            }
        }
    }
}
