package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import javax.net.ssl.SSLEngine;
import org.ddmapper.api.tls.CertificateDirectory;
import org.tinylog.Logger;

/**
 * The server's TLS setting: the mode ({@code off}: STARTTLS refused; {@code on}: the client
 * chooses; {@code require}: every option but STARTTLS and ABORT is answered
 * NBD_REP_ERR_TLS_REQD until TLS is on) and the certificates, from the framework properties
 * {@code ddmapper.nbd.tls}, {@code ddmapper.nbd.tls.certificates} (a directory as qemu's and
 * nbdkit's) and {@code ddmapper.nbd.tls.verify-peer} ({@code true}: clients must present a
 * certificate the directory's CA signed).
 */
public record ServerTls(Mode mode, CertificateDirectory certificates) {
    public static final String MODE_PROPERTY = "ddmapper.nbd.tls";
    public static final String DIR_PROPERTY = "ddmapper.nbd.tls.certificates";
    public static final String VERIFY_PROPERTY = "ddmapper.nbd.tls.verify-peer";
    public static final ServerTls OFF = new ServerTls(Mode.OFF, null);
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /** Whether and how STARTTLS is offered. */
    public enum Mode {
        OFF, ON, REQUIRE
    }

    public ServerTls {
        if (mode != Mode.OFF && certificates == null) throw new IllegalArgumentException("TLS " + mode + " needs certificates");
    }

    /**
     * The setting from framework properties. A bad mode, a missing directory or certificates
     * that do not load are an {@link IllegalArgumentException} with the property and the reason.
     */
    public static ServerTls fromProperties(Function<String, String> properties) {
        String modeText = trimmed(properties.apply(MODE_PROPERTY), "off");
        Mode mode;
        try {
            mode = Mode.valueOf(modeText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(MODE_PROPERTY + ": expected off, on or require; got '" + modeText + "'");
        }
        if (mode == Mode.OFF) return OFF;
        String dir = trimmed(properties.apply(DIR_PROPERTY), "");
        if (dir.isEmpty())
            throw new IllegalArgumentException(MODE_PROPERTY + "=" + modeText + " needs " + DIR_PROPERTY + " (a directory with server-cert.pem and server-key.pem)");
        String verifyText = trimmed(properties.apply(VERIFY_PROPERTY), "false");
        if (!verifyText.equals("true") && !verifyText.equals("false"))
            throw new IllegalArgumentException(VERIFY_PROPERTY + ": expected true or false; got '" + verifyText + "'");
        try {
            return new ServerTls(mode, new CertificateDirectory(Path.of(dir), CertificateDirectory.Role.SERVER,
                    verifyText.equals("true"), message -> Logger.info("nbd: {}", message)));
        } catch (IOException e) {
            throw new IllegalArgumentException(DIR_PROPERTY + ": " + e.getMessage(), e);
        }
    }

    private static String trimmed(String value, String otherwise) {
        return value == null || value.isBlank() ? otherwise : value.trim();
    }

    /** A server-side engine from the current certificates (reloaded if they changed). */
    SSLEngine newEngine() {
        SSLEngine e = certificates.context().createSSLEngine();
        e.setUseClientMode(false);
        e.setNeedClientAuth(certificates.verifyPeer());
        e.setEnabledProtocols(Arrays.stream(PROTOCOLS)
                .filter(p -> Arrays.asList(e.getSupportedProtocols()).contains(p)).toArray(String[]::new));
        return e;
    }
}
