package org.ddmapper.nbd;

import static org.ddmapper.nbd.ClientTest.read;
import static org.ddmapper.nbd.ClientTest.random;
import static org.ddmapper.nbd.ClientTest.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.tls.CertificateDirectory;
import org.ddmapper.nbd.internal.ClientTls;
import org.ddmapper.nbd.internal.NbdConnector;
import org.ddmapper.nbd.internal.ServerTls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The NBD client over TLS ({@code nbds://}, {@code nbds+unix://}): against our server with TLS
 * required, nbdkit {@code --tls=require} and qemu-nbd {@code --tls-creds}; and its refusals
 * (no TLS offered, TLS required but not asked for, a server the CA did not sign).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TlsClientTest extends TlsTestBase {
    boolean tlsOff;

    @Override
    ServerTls tls() {
        if (tlsOff) return ServerTls.OFF;
        try {
            return new ServerTls(ServerTls.Mode.REQUIRE, new CertificateDirectory(certs.server,
                    CertificateDirectory.Role.SERVER, false, m -> { }));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A connector with the client directory configured once (as ddmapper.nbd.client.tls.certificates does). */
    private final NbdConnector connector = new NbdConnector(10_000, new ClientTls(certs == null ? null : certs.anonymous));

    private static void roundTrip(BlockDevice d, int bytes, long seed) throws Exception {
        byte[] data = random(bytes, seed);
        assertEquals(IoStatus.OK, write(d, 64, ByteBuffer.wrap(data), Bio.FUA));
        ByteBuffer back = ByteBuffer.allocateDirect(bytes);
        assertEquals(IoStatus.OK, read(d, 64, back));
        byte[] got = new byte[bytes];
        back.get(got);
        assertArrayEquals(data, got);
    }

    @Test
    void nbdsToOurServer() throws Exception {
        try (BlockDevice d = connector.open("nbds://127.0.0.1:" + address.getPort() + "/disk", false)) {
            assertEquals(DISK_BYTES / 512, d.sizeSectors());
            roundTrip(d, 3 << 20, 1);
            assertArrayEquals(random(3 << 20, 1), devices.device("disk").bytes(64 * 512L, 3 << 20));
        }
    }

    @Test
    void nbdsUnixWithTlsCertificatesParameter() throws Exception {
        Path sock = tmp.resolve("s" + System.nanoTime() + ".sock");
        server.listenUnix(sock);
        try (BlockDevice d = new NbdConnector(10_000).open("nbds+unix:///disk?socket=" + sock
                + "&tls-certificates=" + certs.anonymous, false)) {
            roundTrip(d, 1 << 20, 2);
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    @Test
    void refusals() throws Exception {
        int port = address.getPort();
        DmException plain = assertThrows(DmException.class, () -> connector.open("nbd://127.0.0.1:" + port + "/disk", false));
        assertEquals(Errno.EACCES, plain.errno());
        assertTrue(plain.getMessage().contains("requires TLS (use nbds://)"), plain.getMessage());
        DmException stranger = assertThrows(DmException.class, () -> connector.open("nbds://127.0.0.1:" + port
                + "/disk?tls-certificates=" + certs.stranger, false));
        assertEquals(Errno.EACCES, stranger.errno());
        assertTrue(stranger.getMessage().contains("TLS handshake with 127.0.0.1:" + port + " failed"), stranger.getMessage());
        DmException none = assertThrows(DmException.class, () -> new NbdConnector(10_000).open("nbds://127.0.0.1:" + port + "/disk", false));
        assertTrue(none.getMessage().contains("ddmapper.nbd.client.tls.certificates"), none.getMessage());
        DmException misplaced = assertThrows(DmException.class, () -> connector.open("nbd://127.0.0.1:" + port
                + "/disk?tls-certificates=/x", false));
        assertTrue(misplaced.getMessage().contains("tls-certificates= belongs to nbds://"), misplaced.getMessage());
        DmException negotiated = assertThrows(DmException.class, () -> connector.adopt("nbds://127.0.0.1:" + port
                + "/disk?size=512&flags=1", new TestSockets.Passed(99999), true));
        assertTrue(negotiated.getMessage().contains("TLS cannot start on a socket passed after its handshake"), negotiated.getMessage());
        tlsOff = true;
        restartServer(limits());
        DmException notOffered = assertThrows(DmException.class, () -> connector.open("nbds://127.0.0.1:"
                + address.getPort() + "/disk", false));
        assertEquals(Errno.EOPNOTSUPP, notOffered.errno());
        assertTrue(notOffered.getMessage().contains("does not offer TLS: TLS is not offered by this server"), notOffered.getMessage());
    }

    @Test
    void adoptedSocketDoesTheTlsHandshakeForNbds() throws Exception {
        Path sock = tmp.resolve("a" + System.nanoTime() + ".sock");
        server.listenUnix(sock);
        try {
            int fd = TestSockets.connectUnix(sock);
            try (BlockDevice d = connector.adopt("nbds+unix:///disk?socket=" + sock, new TestSockets.Passed(fd), false)) {
                roundTrip(d, 256 * 1024, 3);
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    @Test
    void nbdkitWithTlsRequire() throws Exception {
        int port = Peers.freePort();
        try (Peers.Proc nbdkit = Peers.nbdkitTcp(port, "--tls=require", "--tls-certificates=" + certs.server,
                "memory", "16M");
             BlockDevice d = connector.open("nbds://127.0.0.1:" + port + "/", false)) {
            assertEquals((16 << 20) / 512, d.sizeSectors());
            roundTrip(d, 2 << 20, 4);
        }
    }

    @Test
    void qemuNbdWithTlsCreds() throws Exception {
        int port = Peers.freePort();
        Path image = tmp.resolve("q" + System.nanoTime() + ".img");
        Files.write(image, new byte[8 << 20]);
        try (Peers.Proc qemuNbd = Peers.start(List.of(Peers.require("qemu-nbd"), "-f", "raw", "-b", "127.0.0.1",
                "-p", Integer.toString(port), "-x", "lun", "--persistent", "--shared=4",
                "--object", "tls-creds-x509,id=tls0,dir=" + certs.server + ",endpoint=server",
                "--tls-creds", "tls0", image.toString()))) {
            awaitPort(qemuNbd, port);
            // qemu verifies clients by default: without a certificate the client is turned away, with one served
            DmException anonymous = assertThrows(DmException.class, () -> connector.open("nbds://127.0.0.1:" + port + "/lun", false));
            assertEquals(Errno.EACCES, anonymous.errno(), anonymous.getMessage());
            try (BlockDevice d = connector.open("nbds://127.0.0.1:" + port + "/lun?tls-certificates=" + certs.client, false)) {
                assertEquals((8 << 20) / 512, d.sizeSectors());
                roundTrip(d, 1 << 20, 5);
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    static void awaitPort(Peers.Proc p, int port) throws Exception {
        long end = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < end) {
            if (!p.process.isAlive()) throw new AssertionError("exited: " + p.output());
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("did not listen on " + port + ": " + p.output());
    }
}
