package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.List;
import org.ddmapper.api.tls.CertificateDirectory;
import org.ddmapper.nbd.internal.BufferPool;
import org.ddmapper.nbd.internal.ExportAccess;
import org.ddmapper.nbd.internal.Nbd;
import org.ddmapper.nbd.internal.NbdServer;
import org.ddmapper.nbd.internal.ServerLimits;
import org.ddmapper.nbd.internal.ServerTls;
import org.ddmapper.spi.testkit.TestCertificates;
import org.ddmapper.spi.testkit.MemoryDeviceManager;

/**
 * Fuzzes what a server with TLS required reads before and during STARTTLS (one server for the
 * run, certificates made once with openssl, a bystander over TLS throughout):
 * <ul>
 * <li>{@code options}: after the greeting, the input is the client's flags and options. Every
 * reply must be well formed, and no option but STARTTLS and ABORT may be answered anything other
 * than NBD_REP_ERR_TLS_REQD (nothing leaks before TLS);</li>
 * <li>{@code clientHello}: STARTTLS is acknowledged, then the input is what the client sends as
 * its side of the TLS handshake. The server must drop it within the handshake deadline.</li>
 * <li>{@code allowList}: the input is an export allow-list file ({@link ExportAccess}): it parses, or
 * the refusal names its line ({@code FILE:LINE: reason}); nothing else escapes.</li>
 * </ul>
 * After each socket input: no server error logged, no connection left but the bystander's, and the
 * bystander reads back its data, writes and flushes.
 */
class TlsFuzzTest {
    static {
        FuzzLog.install();
    }

    private static NbdServer server;
    private static InetSocketAddress address;
    private static Bystander bystander;

    private static TestCertificates certs;

    /**
     * The certificates, the server and the bystander's TLS session, made before the first input:
     * openssl and the JDK's first TLS handshake take seconds under load, more than an input may.
     */
    @org.junit.jupiter.api.BeforeAll
    static void makeCertificates() throws Exception {
        if (certs == null) certs = TestCertificates.make(Files.createTempDirectory("nbd-tls-fuzz"));
        startServer();
    }

    @FuzzTest
    void options(byte[] input) throws Exception {
        start();
        try (WireClient c = new WireClient(address)) {
            c.readGreeting();
            checkRepliesBeforeTls(exchange(c, input));
        }
        afterInput();
    }

    @FuzzTest
    void clientHello(byte[] input) throws Exception {
        start();
        try (WireClient c = new WireClient(address).start()) {
            c.sendOption(Nbd.OPT_STARTTLS, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.readOptionReply().type());
            exchange(c, input);
        }
        afterInput();
    }

    @FuzzTest
    void allowList(byte[] input) {
        String text = new String(input, java.nio.charset.StandardCharsets.UTF_8);
        try {
            java.util.Map<String, List<ExportAccess.Rule>> rules = ExportAccess.parse(text, "allow");
            rules.forEach((export, list) -> {
                assertTrue(!list.isEmpty() && !export.isEmpty() && !export.contains("#"), export);
                for (ExportAccess.Rule r : list) r.matches(null, null);
            });
        } catch (IOException e) {
            assertTrue(e.getMessage().matches("(?s)allow:[0-9]+: .+"), e.getMessage());
        }
    }

    private static void checkRepliesBeforeTls(byte[] out) {
        ByteBuffer b = ByteBuffer.wrap(out);
        while (b.remaining() >= 20 && b.getLong(b.position()) == Nbd.OPTION_REPLY_MAGIC) {
            b.getLong();
            int option = b.getInt();
            int type = b.getInt();
            int length = b.getInt();
            assertTrue(length >= 0 && length <= b.remaining(), "reply length " + Integer.toUnsignedString(length));
            b.position(b.position() + length);
            if (option == Nbd.OPT_STARTTLS) {
                if (type == Nbd.REP_ACK) return; // the rest is TLS
                assertEquals(Nbd.REP_ERR_INVALID, type, "STARTTLS refused only for carrying data");
            } else if (option == Nbd.OPT_ABORT) {
                assertEquals(Nbd.REP_ACK, type);
            } else {
                assertTrue(type == Nbd.REP_ERR_TLS_REQD || type == Nbd.REP_ERR_TOO_BIG,
                        () -> Nbd.optionName(option) + " answered 0x" + Integer.toHexString(type) + " before TLS");
            }
        }
    }

    /** Sends the bytes, closes the sending side and reads all the server sends until it closes (at most 10 s). */
    private static byte[] exchange(WireClient c, byte[] bytes) throws IOException {
        try {
            c.out.write(bytes);
            c.out.flush();
            c.socket.shutdownOutput();
        } catch (SocketException e) {
            // dropped before reading everything: allowed
        }
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        long deadline = System.nanoTime() + 10_000_000_000L;
        c.socket.setSoTimeout(1000);
        InputStream in = c.socket.getInputStream();
        byte[] buffer = new byte[16 * 1024];
        while (true) {
            int n;
            try {
                n = in.read(buffer);
            } catch (SocketTimeoutException e) {
                if (System.nanoTime() > deadline) fail("the server did not close within 10 s after the client's end of stream");
                continue;
            } catch (SocketException e) {
                break;
            }
            if (n < 0) break;
            got.write(buffer, 0, n);
        }
        return got.toByteArray();
    }

    private static void afterInput() throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.connectionCount() > 1) {
            if (System.nanoTime() > deadline) fail(server.connectionCount() - 1 + " connections still open 5 s after the client left");
            Thread.sleep(1);
        }
        List<String> errors = FuzzLog.takeErrors();
        assertTrue(errors.isEmpty(), () -> "the server logged errors: " + errors);
        bystander.verify();
    }

    private static synchronized void start() throws Exception {
        BugDetectors.allowNetworkConnections();
        if (server == null) makeCertificates();
    }

    private static synchronized void startServer() throws Exception {
        if (server != null) return;
        MemoryDeviceManager devices = new MemoryDeviceManager();
        devices.add("disk", 1 << 20, false);
        devices.add(Bystander.EXPORT, 4 << 20, false);
        ServerTls tls = new ServerTls(ServerTls.Mode.REQUIRE, new CertificateDirectory(certs.server,
                CertificateDirectory.Role.SERVER, false, m -> { }));
        server = new NbdServer(devices, ServerLimits.DEFAULTS.withHandshakeMillis(8000), new BufferPool(16 << 20), tls);
        address = (InetSocketAddress) server.listenTcp("127.0.0.1", 0).localAddress();
        bystander = new Bystander(new WireClient(address).start().startTls(TestCertificates.context(certs.anonymous)));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                bystander.close();
            } catch (IOException e) {
                // going away anyway
            }
            server.close();
            devices.close();
        }));
    }
}
