package org.ddmapper.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Per-export allow lists: by verified certificate (alice may use "disk", bob may not until the
 * file is changed) and by client address for plain text ("ro" only from 127.0.0.2); LIST shows a
 * client only what it may open; a refusal names the export, the address and the subject.
 */
class ExportAccessTest {
    static TestCertificates certs;
    static Path tmp;

    @BeforeAll
    static void makeCertificates() throws Exception {
        tmp = Files.createTempDirectory("nbd-allow");
        certs = TestCertificates.make(tmp);
    }

    @AfterAll
    static void removeCertificates() throws IOException {
        try (var walk = Files.walk(tmp)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void badLinesNameTheLineAndTheReason() {
        assertEquals("f:2: 'host.example' is not an IP address (no host names)",
                assertThrows(IOException.class, () -> ExportAccess.parse("# tenants\ndisk addr:host.example\n", "f")).getMessage());
        assertEquals("f:1: prefix '/33' is not 0..32",
                assertThrows(IOException.class, () -> ExportAccess.parse("disk addr:10.0.0.0/33", "f")).getMessage());
        assertEquals("f:1: expected EXPORT RULE, got 'disk'",
                assertThrows(IOException.class, () -> ExportAccess.parse("disk", "f")).getMessage());
        assertEquals("f:1: 'user:x' is not a rule (cn:NAME, dn:DN, addr:IP[/BITS] or unix)",
                assertThrows(IOException.class, () -> ExportAccess.parse("disk user:x", "f")).getMessage());
        assertTrue(assertThrows(IOException.class, () -> ExportAccess.parse("disk dn:===", "f")).getMessage()
                .contains("is not an X.500 name"));
    }

    @Test
    void certificatesAndAddressesDecide() throws Exception {
        Path file = tmp.resolve("allow-" + System.nanoTime());
        Files.writeString(file, "disk cn:alice   # tenant a\ndisk dn:CN=carol,O=ddmapper tests\nro addr:127.0.0.2/32\nro unix\n");
        MemoryDeviceManager devices = new MemoryDeviceManager();
        devices.add("disk", 1 << 20, false);
        devices.add("ro", 1 << 20, true);
        devices.add("open", 1 << 20, false);
        ServerTls tls = new ServerTls(ServerTls.Mode.ON, new CertificateDirectory(certs.server,
                CertificateDirectory.Role.SERVER, true, m -> { }));
        try (NbdServer server = new NbdServer(devices, ServerLimits.DEFAULTS, new BufferPool(4 << 20), tls,
                ExportAccess.load(file))) {
            InetSocketAddress address = (InetSocketAddress) server.listenTcp("127.0.0.1", 0).localAddress();
            try (WireClient alice = new WireClient(address).start().startTls(TestCertificates.context(certs.client))) {
                assertEquals(List.of("disk", "open"), list(alice));
                alice.go("disk");
            }
            try (WireClient bob = new WireClient(address).start().startTls(TestCertificates.context(certs.bob))) {
                assertEquals(List.of("open"), list(bob));
                bob.sendOption(Nbd.OPT_GO, WireClient.infoRequest("disk"));
                WireClient.OptionReply r = bob.readOptionReply();
                assertEquals(Nbd.REP_ERR_POLICY, r.type());
                assertEquals("export 'disk' is not allowed for this client (address 127.0.0.1, certificate subject"
                        + " CN=bob,O=ddmapper tests)", r.text());
                bob.go("open");
            }
            try (WireClient plain = new WireClient(address).start()) {
                plain.sendOption(Nbd.OPT_GO, WireClient.infoRequest("ro"));
                assertEquals(Nbd.REP_ERR_POLICY, plain.readOptionReply().type(), "ro from 127.0.0.1");
            }
            try (WireClient other = new WireClient(address, InetAddress.getByName("127.0.0.2")).start()) {
                assertEquals(List.of("open", "ro"), list(other));
                other.go("ro");
            }
            try (WireClient plain = new WireClient(address).start()) {
                plain.sendOption(Nbd.OPT_EXPORT_NAME, "disk".getBytes());
                assertTrue(plain.closedByServer(5000), "EXPORT_NAME of a refused export closes");
            }
            Thread.sleep(1100);
            Files.writeString(file, Files.readString(file) + "disk cn:bob\n");
            try (WireClient bob = new WireClient(address).start().startTls(TestCertificates.context(certs.bob))) {
                bob.go("disk");
            }
        } finally {
            devices.close();
        }
    }

    private static List<String> list(WireClient c) throws IOException {
        c.sendOption(Nbd.OPT_LIST, new byte[0]);
        List<String> names = new ArrayList<>();
        for (;;) {
            WireClient.OptionReply r = c.readOptionReply();
            if (r.type() == Nbd.REP_ACK) return names.stream().sorted().toList();
            assertEquals(Nbd.REP_SERVER, r.type());
            int len = java.nio.ByteBuffer.wrap(r.data()).getInt();
            names.add(new String(r.data(), 4, len));
        }
    }
}
