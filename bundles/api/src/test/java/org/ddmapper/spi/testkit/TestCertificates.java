package org.ddmapper.spi.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.net.ssl.SSLContext;
import org.ddmapper.api.tls.CertificateDirectory;

/**
 * Throw-away certificates made with openssl for one test run, in directories laid out as qemu's
 * and nbdkit's: a CA, a server certificate for 127.0.0.1/localhost, a client "alice" the CA
 * signed, and a second, unrelated CA with its own client "mallory". Keys are ECDSA P-256 (fast to
 * make) in a temp dir; they name themselves as test keys in their subjects.
 */
public final class TestCertificates {
    public final Path root;
    /** ca-cert.pem, server-cert.pem, server-key.pem. */
    public final Path server;
    /** ca-cert.pem, client-cert.pem, client-key.pem (CN=alice). */
    public final Path client;
    /** ca-cert.pem, client-cert.pem, client-key.pem (CN=bob, the same CA). */
    public final Path bob;
    /** ca-cert.pem only: a client without a certificate. */
    public final Path anonymous;
    /** The other CA's ca-cert.pem and its client (CN=mallory): trusts neither the server nor is trusted. */
    public final Path stranger;
    /** The server's CA (so it trusts the server) with mallory's certificate from the other CA. */
    public final Path impostor;
    private int serial = 1;

    private TestCertificates(Path root) {
        this.root = root;
        this.server = root.resolve("server");
        this.client = root.resolve("client");
        this.anonymous = root.resolve("anonymous");
        this.bob = root.resolve("bob");
        this.stranger = root.resolve("stranger");
        this.impostor = root.resolve("impostor");
    }

    public static TestCertificates make(Path root) throws Exception {
        TestCertificates c = new TestCertificates(root);
        for (Path d : new Path[] {c.server, c.client, c.bob, c.anonymous, c.stranger, c.impostor, root.resolve("ca"), root.resolve("ca2")}) {
            Files.createDirectories(d);
        }
        Path ca = root.resolve("ca");
        Path ca2 = root.resolve("ca2");
        c.ca(ca, "ddmapper test CA");
        c.ca(ca2, "ddmapper test CA 2 (untrusted)");
        c.issue(ca, c.server, "server", "localhost test server", "serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        c.issue(ca, c.client, "client", "alice", "clientAuth", "");
        c.issue(ca, c.bob, "client", "bob", "clientAuth", "");
        c.issue(ca2, c.stranger, "client", "mallory", "clientAuth", "");
        for (Path d : new Path[] {c.server, c.client, c.bob, c.anonymous}) copy(ca.resolve("ca-cert.pem"), d.resolve("ca-cert.pem"));
        copy(ca2.resolve("ca-cert.pem"), c.stranger.resolve("ca-cert.pem"));
        copy(ca.resolve("ca-cert.pem"), c.impostor.resolve("ca-cert.pem"));
        copy(c.stranger.resolve("client-cert.pem"), c.impostor.resolve("client-cert.pem"));
        copy(c.stranger.resolve("client-key.pem"), c.impostor.resolve("client-key.pem"));
        return c;
    }

    /** Replaces the server's certificate and key with new ones from the same CA (a renewal); returns the new subject. */
    public String renewServer(String commonName) throws Exception {
        Path staging = root.resolve("renew" + serial);
        Files.createDirectories(staging);
        issue(root.resolve("ca"), staging, "server", commonName, "serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        Files.move(staging.resolve("server-key.pem"), server.resolve("server-key.pem"), StandardCopyOption.REPLACE_EXISTING);
        Files.move(staging.resolve("server-cert.pem"), server.resolve("server-cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        return commonName;
    }

    /** A client context from one of the directories (the JDK's, for WireClient). */
    public static SSLContext context(Path dir) throws IOException {
        return new CertificateDirectory(dir, CertificateDirectory.Role.CLIENT, false, m -> { }).context();
    }

    private void ca(Path dir, String name) throws Exception {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", dir.resolve("ca-key.pem").toString(), "-out", dir.resolve("ca-cert.pem").toString(),
                "-days", "3", "-subj", "/O=ddmapper tests/CN=" + name,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    private void issue(Path ca, Path dir, String role, String name, String usage, String extra) throws Exception {
        Path key = dir.resolve(role + "-key.pem");
        Path csr = dir.resolve(role + ".csr");
        Path ext = dir.resolve(role + ".ext");
        Files.writeString(ext, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                + "extendedKeyUsage=" + usage + "\n" + extra);
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(),
                "-out", csr.toString(), "-subj", "/O=ddmapper tests/CN=" + name);
        openssl("x509", "-req", "-in", csr.toString(), "-CA", ca.resolve("ca-cert.pem").toString(),
                "-CAkey", ca.resolve("ca-key.pem").toString(), "-set_serial", Integer.toString(++serial),
                "-out", dir.resolve(role + "-cert.pem").toString(), "-days", "3", "-extfile", ext.toString());
        Files.delete(csr);
        Files.delete(ext);
    }

    /** Runs openssl (a missing openssl skips the test, and fails it in CI, CI=true). */
    private static void openssl(String... args) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/openssl"))) {
            String message = "openssl is not installed (Debian: openssl)";
            if ("true".equals(System.getenv("CI"))) org.junit.jupiter.api.Assertions.fail(message);
            org.junit.jupiter.api.Assumptions.abort(message);
        }
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("/usr/bin/openssl"));
        cmd.addAll(java.util.List.of(args));
        Path log = Files.createTempFile("openssl", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                org.junit.jupiter.api.Assertions.fail("openssl " + String.join(" ", args) + ": no answer within 60 s");
            }
            String output = Files.readString(log);
            assertEquals(0, p.exitValue(), () -> "openssl " + String.join(" ", args) + ": " + output);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Deletes the directory tree (for @AfterAll). */
    public void delete() throws IOException {
        try (var walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
}
