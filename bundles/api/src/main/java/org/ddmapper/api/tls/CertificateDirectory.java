package org.ddmapper.api.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * X.509 credentials from a directory laid out as qemu's {@code tls-creds-x509} and nbdkit's
 * {@code --tls-certificates}: {@code ca-cert.pem} (the CA that signs peers), {@code
 * ROLE-cert.pem} and {@code ROLE-key.pem} (ROLE {@code server} or {@code client}), and an
 * optional {@code ca-crl.pem}. A server needs its certificate and key, and the CA only when it
 * verifies clients; a client needs the CA, and its own certificate and key only when the server
 * asks for one (both or neither).
 *
 * <p>{@link #context()} gives the current {@link SSLContext}: it looks at the files' sizes and
 * times (at most once a second) and reloads when they changed. A reload that fails keeps the
 * previous context (connections go on being accepted) and is reported once through the
 * {@code log} callback, as is each successful reload. Contexts already handed out — and the
 * connections using them — are never touched, so a reload drops nobody.
 */
public final class CertificateDirectory {
    /** Which side of the connection the credentials are for. */
    public enum Role {
        SERVER, CLIENT;

        String prefix() {
            return this == SERVER ? "server" : "client";
        }
    }

    public static final String CA = "ca-cert.pem";
    public static final String CRL = "ca-crl.pem";
    private static final long RECHECK_NANOS = 1_000_000_000L;

    private final Path dir;
    private final Role role;
    private final boolean verifyPeer;
    private final Consumer<String> log;
    private volatile Loaded current;
    private volatile long checkedNanos;
    private String failedStamp;

    private record Loaded(SSLContext context, String stamp) {
    }

    /**
     * Loads the directory now; a missing or unreadable file is an {@link IOException} naming it.
     * {@code verifyPeer}: for a server, whether clients must present a certificate the CA signed
     * (the CA is then required); for a client, ignored (the server is always verified).
     */
    public CertificateDirectory(Path dir, Role role, boolean verifyPeer, Consumer<String> log) throws IOException {
        this.dir = dir;
        this.role = role;
        this.verifyPeer = verifyPeer;
        this.log = log;
        if (!Files.isDirectory(dir)) throw new IOException(dir + ": not a directory of TLS certificates");
        String stamp = stamp();
        current = new Loaded(load(), stamp);
        checkedNanos = System.nanoTime();
    }

    public Path directory() {
        return dir;
    }

    public boolean verifyPeer() {
        return verifyPeer;
    }

    /** The current context, reloaded first if the files changed since the last look. Thread-safe. */
    public SSLContext context() {
        long now = System.nanoTime();
        if (now - checkedNanos < RECHECK_NANOS) return current.context();
        synchronized (this) {
            if (now - checkedNanos < RECHECK_NANOS) return current.context();
            checkedNanos = now;
            String stamp;
            try {
                stamp = stamp();
            } catch (IOException e) {
                stamp = "unreadable: " + e.getMessage();
            }
            if (stamp.equals(current.stamp()) || stamp.equals(failedStamp)) return current.context();
            try {
                current = new Loaded(load(), stamp);
                failedStamp = null;
                log.accept("TLS certificates in " + dir + " reloaded; new connections use them");
            } catch (IOException | RuntimeException e) {
                failedStamp = stamp;
                log.accept("TLS certificates in " + dir + " changed but do not load (" + e.getMessage()
                        + "); still using the previous ones");
            }
            return current.context();
        }
    }

    /** Sizes and modification times of the files this role reads (absent ones included as such). */
    private String stamp() throws IOException {
        StringBuilder b = new StringBuilder();
        for (String name : List.of(CA, CRL, role.prefix() + "-cert.pem", role.prefix() + "-key.pem")) {
            Path p = dir.resolve(name);
            if (!Files.exists(p)) {
                b.append(name).append("=absent;");
                continue;
            }
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            b.append(name).append('=').append(a.size()).append('@').append(a.lastModifiedTime().toMillis())
                    .append('#').append(a.fileKey()).append(';');
        }
        return b.toString();
    }

    private SSLContext load() throws IOException {
        Path ca = dir.resolve(CA);
        Path cert = dir.resolve(role.prefix() + "-cert.pem");
        Path key = dir.resolve(role.prefix() + "-key.pem");
        Path crl = dir.resolve(CRL);
        boolean needCa = role == Role.CLIENT || verifyPeer;
        if (needCa && !Files.exists(ca)) {
            throw new IOException(ca + ": missing (" + (role == Role.CLIENT ? "the CA that signed the server"
                    : "verify-peer needs the CA that signs clients") + ")");
        }
        boolean haveCert = Files.exists(cert);
        boolean haveKey = Files.exists(key);
        if (role == Role.SERVER && !haveCert) throw new IOException(cert + ": missing");
        if (haveCert != haveKey) throw new IOException((haveCert ? key : cert) + ": missing (" + cert.getFileName()
                + " and " + key.getFileName() + " go together)");
        try {
            KeyManagerFactory kmf = null;
            if (haveCert) {
                List<X509Certificate> chain = Pem.certificates(cert);
                PrivateKey privateKey = Pem.privateKey(key);
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                char[] none = new char[0];
                ks.setKeyEntry("key", privateKey, none, chain.toArray(new X509Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, none);
            }
            TrustManagerFactory tmf = null;
            if (Files.exists(ca)) {
                KeyStore ts = KeyStore.getInstance("PKCS12");
                ts.load(null, null);
                int i = 0;
                for (X509Certificate c : Pem.certificates(ca)) ts.setCertificateEntry("ca" + i++, c);
                PKIXBuilderParameters params = new PKIXBuilderParameters(ts, new X509CertSelector());
                if (Files.exists(crl)) {
                    List<X509CRL> crls = new ArrayList<>(Pem.crls(crl));
                    params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(crls)));
                    params.setRevocationEnabled(true);
                } else {
                    params.setRevocationEnabled(false);
                }
                tmf = TrustManagerFactory.getInstance("PKIX");
                tmf.init(new CertPathTrustManagerParameters(params));
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf == null ? null : kmf.getKeyManagers(),
                    tmf == null ? new javax.net.ssl.TrustManager[0] : tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException(dir + ": the certificates do not make a TLS context: " + e.getMessage(), e);
        }
    }
}
