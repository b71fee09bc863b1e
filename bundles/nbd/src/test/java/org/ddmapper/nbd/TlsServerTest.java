package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.net.ssl.SSLSocket;
import org.ddmapper.api.tls.CertificateDirectory;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.ServerLimits;
import org.ddmapper.nbd.internal.ServerTls;
import org.ddmapper.spi.testkit.TestCertificates;
import org.junit.jupiter.api.Test;

/**
 * NBD_OPT_STARTTLS on the server: the modes, certificate checks, reload, and the real clients
 * that speak it (nbdinfo and nbdcopy with {@code nbds://}, qemu-io with a {@code tls-creds-x509}
 * object). Certificates are made with openssl for the run ({@link TestCertificates}).
 */
class TlsServerTest extends TlsTestBase {
    ServerTls.Mode mode = ServerTls.Mode.REQUIRE;
    boolean verifyPeer;

    @Override
    ServerLimits limits() {
        return ServerLimits.DEFAULTS.withHandshakeMillis(3000);
    }

    @Override
    ServerTls tls() {
        if (mode == ServerTls.Mode.OFF) return ServerTls.OFF;
        try {
            return new ServerTls(mode, new CertificateDirectory(certs.server, CertificateDirectory.Role.SERVER,
                    verifyPeer, m -> org.tinylog.Logger.info("nbd: {}", m)));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private void restart(ServerTls.Mode m, boolean verify) throws IOException {
        mode = m;
        verifyPeer = verify;
        restartServer(limits());
    }

    private WireClient tlsClient(Path dir) throws IOException {
        return client().start().startTls(TestCertificates.context(dir));
    }

    @Test
    void requireAnswersTlsRequiredUntilStartTls() throws IOException {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_GO, WireClient.infoRequest("disk"));
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_TLS_REQD, r.type());
            assertTrue(r.text().contains("requires TLS"), r.text());
            c.sendOption(Nbd.OPT_LIST, new byte[0]);
            assertEquals(Nbd.REP_ERR_TLS_REQD, c.readOptionReply().type());
            WireClient t = c.startTls(TestCertificates.context(certs.anonymous));
            roundTrip(t, 4096);
        }
    }

    @Test
    void exportNameWithoutTlsIsClosedWhenRequired() throws IOException {
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_EXPORT_NAME, "disk".getBytes());
            assertTrue(c.closedByServer(5000), "EXPORT_NAME cannot be refused with an error: the server closes");
        }
    }

    @Test
    void onLetsTheClientChooseAndStartTlsTwiceIsInvalid() throws IOException {
        restart(ServerTls.Mode.ON, false);
        try (WireClient plain = connected("disk", false)) {
            plain.sendRequest(0, Nbd.CMD_FLUSH, 1, 0, 0);
            assertEquals(0, plain.readSimpleReply().error(), "plain text is served in mode on");
        }
        try (WireClient c = tlsClient(certs.anonymous)) {
            c.sendOption(Nbd.OPT_STARTTLS, new byte[0]);
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_INVALID, r.type());
            assertTrue(r.text().contains("already on"), r.text());
            roundTrip(c, 512);
        }
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_STARTTLS, new byte[3]);
            assertEquals(Nbd.REP_ERR_INVALID, c.readOptionReply().type(), "STARTTLS with data");
        }
    }

    @Test
    void offRefusesStartTlsWithPolicy() throws IOException {
        restart(ServerTls.Mode.OFF, false);
        try (WireClient c = client().start()) {
            c.sendOption(Nbd.OPT_STARTTLS, new byte[0]);
            WireClient.OptionReply r = c.readOptionReply();
            assertEquals(Nbd.REP_ERR_POLICY, r.type());
            assertTrue(r.text().contains("not offered"), r.text());
        }
    }

    @Test
    void verifyPeerRefusesClientsWithoutACertificateTheCaSigned() throws Exception {
        restart(ServerTls.Mode.REQUIRE, true);
        for (Path dir : new Path[] {certs.anonymous, certs.impostor}) {
            WireClient c = client().start();
            assertThrows(IOException.class, () -> c.startTls(TestCertificates.context(dir)).go("disk"),
                    dir.getFileName() + " must be refused");
            c.close();
        }
        try (WireClient ok = tlsClient(certs.client)) {
            roundTrip(ok, 8192);
        }
        String nbdinfo = Peers.require("nbdinfo");
        Peers.Result refused = Peers.run(60, nbdinfo, uri("disk", certs.anonymous));
        assertNotEquals(0, refused.exit(), "nbdinfo without a client certificate: " + refused.output());
        Peers.Result served = Peers.run(60, nbdinfo, uri("disk", certs.client));
        assertEquals(0, served.exit(), served.output());
        assertTrue(served.output().contains(Integer.toString(DISK_BYTES)), served.output());
    }

    @Test
    void clientOfAnotherCaDoesNotTrustTheServer() throws Exception {
        Peers.Result r = Peers.run(60, Peers.require("nbdinfo"), uri("disk", certs.stranger));
        assertNotEquals(0, r.exit(), r.output());
        assertGoodTlsClientServed();
    }

    @Test
    void nbdcopyWritesAndReadsBackOverTls() throws Exception {
        String nbdcopy = Peers.require("nbdcopy");
        Path in = tmp.resolve("in-" + System.nanoTime() + ".img");
        Path out = tmp.resolve("out-" + System.nanoTime() + ".img");
        byte[] data = new byte[DISK_BYTES];
        new Random(20).nextBytes(data);
        Files.write(in, data);
        try {
            Peers.Result w = Peers.run(120, nbdcopy, in.toString(), uri("disk", certs.anonymous));
            assertEquals(0, w.exit(), w.output());
            Peers.Result r = Peers.run(120, nbdcopy, uri("disk", certs.anonymous), out.toString());
            assertEquals(0, r.exit(), r.output());
            assertArrayEquals(data, Files.readAllBytes(out), "nbdcopy reads back what it wrote over TLS");
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(out);
        }
    }

    @Test
    void qemuIoWithTlsCredsX509() throws Exception {
        Peers.Result r = Peers.run(120, Peers.require("qemu-io"),
                "--object", "tls-creds-x509,id=tls0,dir=" + certs.anonymous + ",endpoint=client",
                "--image-opts", "driver=nbd,host=127.0.0.1,port=" + address.getPort() + ",export=disk,tls-creds=tls0",
                "-c", "write -P 0x5a 1M 256k", "-c", "read -P 0x5a 1M 256k");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("read 262144/262144 bytes"), r.output());
        assertTrue(!r.output().contains("Pattern verification failed"), r.output());
    }

    @Test
    void renewedCertificatesServeNewConnectionsWithoutDroppingOpenOnes() throws Exception {
        try (WireClient before = tlsClient(certs.anonymous)) {
            before.go("disk");
            String oldSubject = peerSubject(before);
            Thread.sleep(1100); // the directory is looked at once a second at most
            certs.renewServer("renewed test server");
            try (WireClient after = tlsClient(certs.anonymous)) {
                assertTrue(peerSubject(after).contains("renewed test server"), peerSubject(after));
            }
            assertTrue(oldSubject.contains("localhost test server"), oldSubject);
            roundTripAfterGo(before, 4096, 77);
        }
    }

    /** nbd URI with libnbd's tls-certificates parameter. */
    private String uri(String export, Path dir) {
        return "nbds://127.0.0.1:" + address.getPort() + "/" + export + "?tls-certificates=" + dir;
    }

    private static String peerSubject(WireClient c) throws IOException {
        return ((java.security.cert.X509Certificate) ((SSLSocket) c.socket).getSession().getPeerCertificates()[0])
                .getSubjectX500Principal().getName();
    }

    void assertGoodTlsClientServed() throws IOException {
        try (WireClient c = tlsClient(certs.anonymous)) {
            roundTrip(c, 4096);
        }
    }

    /** GO on "disk", a write and a read back over {@code c}. */
    private static void roundTrip(WireClient c, int bytes) throws IOException {
        c.go("disk");
        roundTripAfterGo(c, bytes, 1);
    }

    private static void roundTripAfterGo(WireClient c, int bytes, int seed) throws IOException {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        c.write(10 + seed, 8192L * seed, data);
        assertEquals(0, c.readSimpleReply().error());
        c.sendRequest(0, Nbd.CMD_READ, 20 + seed, 8192L * seed, bytes);
        WireClient.SimpleReply r = c.readSimpleReply();
        assertEquals(0, r.error());
        assertArrayEquals(data, c.readBytes(bytes));
    }
}
