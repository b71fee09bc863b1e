package org.ddmapper.nbd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import org.ddmapper.spi.testkit.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A server test with throw-away certificates (a CA, a server and a client), made for each test class in a temp dir. */
abstract class TlsTestBase extends ServerTestBase {
    static TestCertificates certs;
    static Path tmp;

    @BeforeAll
    static void makeCertificates() throws Exception {
        tmp = Files.createTempDirectory("nbd-tls");
        certs = TestCertificates.make(tmp);
    }

    @AfterAll
    static void removeCertificates() throws IOException {
        try (var walk = Files.walk(tmp)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
