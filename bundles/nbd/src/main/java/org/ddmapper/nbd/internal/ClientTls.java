package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.tls.CertificateDirectory;
import org.tinylog.Logger;

/**
 * The NBD client's TLS credentials: the directory configured once for every {@code nbds://}
 * reference (framework property {@value #DIR_PROPERTY}: {@code ca-cert.pem}, and {@code
 * client-cert.pem}/{@code client-key.pem} for servers that verify clients), or the one a
 * reference names with {@code tls-certificates=DIR}. Each directory is loaded once and reloaded
 * when its files change. The server's certificate must chain to the CA; over TCP its name must
 * also match the reference's host (a subject alternative name), as libnbd checks it.
 */
public final class ClientTls {
    public static final String DIR_PROPERTY = "ddmapper.nbd.client.tls.certificates";
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final Path configured;
    private final Map<Path, CertificateDirectory> loaded = new ConcurrentHashMap<>();

    /** Credentials from {@code configured} (null: only references naming tls-certificates= can use TLS). */
    public ClientTls(Path configured) {
        this.configured = configured;
    }

    /** A client engine for {@code uri}; a missing or broken directory is a DmException naming the reference. */
    SSLEngine newEngine(NbdUri uri) {
        Path dir = uri.tlsCertificates() != null ? uri.tlsCertificates() : configured;
        if (dir == null) {
            throw new DmException(Errno.EINVAL, uri.reference() + ": TLS needs certificates: set " + DIR_PROPERTY
                    + " or add tls-certificates=DIR to the reference");
        }
        CertificateDirectory certs = loaded.computeIfAbsent(dir.toAbsolutePath().normalize(), d -> {
            try {
                return new CertificateDirectory(d, CertificateDirectory.Role.CLIENT, true,
                        m -> Logger.info("nbd client: {}", m));
            } catch (IOException e) {
                throw new DmException(Errno.EINVAL, uri.reference() + ": " + e.getMessage(), e);
            }
        });
        SSLEngine e = uri.unix() ? certs.context().createSSLEngine()
                : certs.context().createSSLEngine(uri.host(), uri.port());
        e.setUseClientMode(true);
        SSLParameters p = e.getSSLParameters();
        p.setProtocols(java.util.Arrays.stream(PROTOCOLS)
                .filter(x -> java.util.Arrays.asList(e.getSupportedProtocols()).contains(x)).toArray(String[]::new));
        if (!uri.unix()) p.setEndpointIdentificationAlgorithm("HTTPS");
        e.setSSLParameters(p);
        return e;
    }
}
