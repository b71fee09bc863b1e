package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Random;
import javax.net.ssl.SSLSocket;
import org.ddmapper.api.tls.CertificateDirectory;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.ServerLimits;
import org.ddmapper.nbd.internal.ServerTls;
import org.ddmapper.spi.testkit.TestCertificates;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile clients of a server with TLS on: garbage instead of a ClientHello, a stall in the TLS
 * handshake, a record header that promises more than TLS allows, STARTTLS after GO, a
 * renegotiation. Each is dropped within the handshake deadline (3 s here) or at once, logs no
 * server error, and a bystander connected over TLS throughout carries on (its I/O checked after),
 * as does a new TLS client.
 */
class TlsHostileClientTest extends TlsTestBase {
    private static final long HANDSHAKE_MILLIS = 3000;
    private int mark;

    @Override
    ServerLimits limits() {
        return ServerLimits.DEFAULTS.withHandshakeMillis(HANDSHAKE_MILLIS);
    }

    @Override
    ServerTls tls() {
        try {
            return new ServerTls(ServerTls.Mode.ON, new CertificateDirectory(certs.server,
                    CertificateDirectory.Role.SERVER, false, m -> { }));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @BeforeEach
    void tlsBystander() throws IOException {
        devices.add(Bystander.EXPORT, 4 << 20, false);
        bystander = new Bystander(client().start().startTls(TestCertificates.context(certs.anonymous)));
        mark = LogRecorder.mark();
    }

    /** The bystander carried on, a new TLS client and a plain one are served, and nothing was logged as a server bug. */
    private void assertUndisturbed() throws IOException {
        assertGoodClientServed();
        try (WireClient c = client().start().startTls(TestCertificates.context(certs.anonymous))) {
            c.go("disk");
            c.sendRequest(0, Nbd.CMD_FLUSH, 5, 0, 0);
            assertEquals(0, c.readSimpleReply().error(), "a new TLS client's flush");
        }
        List<LogRecorder.Line> bugs = LogRecorder.serverBugsSince(mark);
        assertTrue(bugs.isEmpty(), () -> "server errors: " + bugs);
    }

    /** STARTTLS acknowledged, then the raw socket for the hostile part. */
    private WireClient acknowledgedStartTls() throws IOException {
        WireClient c = client().start();
        c.sendOption(Nbd.OPT_STARTTLS, new byte[0]);
        assertEquals(Nbd.REP_ACK, c.readOptionReply().type());
        return c;
    }

    @Test
    void garbageInsteadOfClientHelloIsDropped() throws IOException {
        try (WireClient c = acknowledgedStartTls()) {
            byte[] junk = new byte[4096];
            new Random(1).nextBytes(junk);
            junk[0] = 0x47; // "GET ..." is not a TLS record type
            c.out.write(junk);
            c.out.flush();
            assertTrue(c.closedByServer(2000), "garbage is refused at once, not at the deadline");
        }
        assertUndisturbed();
    }

    @Test
    void stallInTheTlsHandshakeIsDroppedAtTheDeadline() throws IOException {
        long start = System.nanoTime();
        try (WireClient c = acknowledgedStartTls()) {
            // a handshake record header promising 300 bytes, then nothing
            c.out.write(new byte[] {0x16, 0x03, 0x01, 0x01, 0x2c, 0x01});
            c.out.flush();
            assertTrue(c.closedByServer((int) HANDSHAKE_MILLIS + 5000), "a stalled TLS handshake is dropped");
        }
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMillis >= HANDSHAKE_MILLIS - 500, "dropped after " + tookMillis + " ms, before the deadline");
        assertUndisturbed();
    }

    @Test
    void oversizedRecordIsDropped() throws IOException {
        try (WireClient c = acknowledgedStartTls()) {
            c.out.write(new byte[] {0x16, 0x03, 0x03, (byte) 0xff, (byte) 0xff});
            c.out.write(new byte[8192]);
            c.out.flush();
            assertTrue(c.closedByServer(2000), "a record longer than TLS allows is refused at once");
        }
        assertUndisturbed();
    }

    @Test
    void startTlsAfterGoIsADroppedConnection() throws IOException {
        try (WireClient c = connected("disk", false)) {
            c.sendOption(Nbd.OPT_STARTTLS, new byte[0]);
            c.out.write(new byte[12]); // the rest of a request header's 28 bytes
            c.out.flush();
            assertTrue(c.closedByServer(2000), "an option in transmission is a bad request magic");
        }
        assertUndisturbed();
    }

    @Test
    void renegotiationIsRefused() throws IOException {
        try (WireClient c = client().start().startTls(TestCertificates.context(certs.anonymous), "TLSv1.2")) {
            assertEquals("TLSv1.2", ((SSLSocket) c.socket).getSession().getProtocol());
            c.go("disk");
            ((SSLSocket) c.socket).startHandshake(); // a renegotiation on TLS 1.2
            c.sendRequest(0, Nbd.CMD_FLUSH, 3, 0, 0);
            assertTrue(c.closedByServer(5000), "the server closes a connection that renegotiates");
        } catch (IOException e) {
            // the renegotiation itself failing (the server closed) is the outcome too
            assertTrue(e.getMessage() != null, "closed with a reason");
        }
        assertUndisturbed();
    }
}
