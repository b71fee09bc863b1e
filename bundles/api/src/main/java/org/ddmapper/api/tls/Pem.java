package org.ddmapper.api.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEM files as the JDK needs them: certificate chains, certificate revocation lists, and
 * unencrypted private keys in PKCS#8 ({@code BEGIN PRIVATE KEY}, what openssl and recent certtool
 * write) or PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}, rewrapped as PKCS#8). Any other key form
 * (encrypted, SEC1 {@code EC PRIVATE KEY}) is refused with a sentence saying how to convert it.
 * Every failure is an {@link IOException} naming the file.
 */
public final class Pem {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*?)-----END \\1-----");
    /** DER of AlgorithmIdentifier { rsaEncryption, NULL }. */
    private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86,
        (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

    private Pem() {
    }

    /** The certificates of a PEM file, in file order (a leaf first, then its chain); at least one. */
    public static List<X509Certificate> certificates(Path file) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory f = CertificateFactory.getInstance("X.509");
            for (byte[] der : blocks(file, "CERTIFICATE")) {
                out.add((X509Certificate) f.generateCertificate(new ByteArrayInputStream(der)));
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException(file + ": not a valid X.509 certificate: " + e.getMessage(), e);
        }
        if (out.isEmpty()) throw new IOException(file + ": no CERTIFICATE block");
        return out;
    }

    /** The revocation lists of a PEM file (at least one). */
    public static List<X509CRL> crls(Path file) throws IOException {
        List<X509CRL> out = new ArrayList<>();
        try {
            CertificateFactory f = CertificateFactory.getInstance("X.509");
            for (byte[] der : blocks(file, "X509 CRL")) out.add((X509CRL) f.generateCRL(new ByteArrayInputStream(der)));
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException(file + ": not a valid X.509 CRL: " + e.getMessage(), e);
        }
        if (out.isEmpty()) throw new IOException(file + ": no X509 CRL block");
        return out;
    }

    /** The one private key of a PEM file. */
    public static PrivateKey privateKey(Path file) throws IOException {
        String text = read(file);
        Matcher m = BLOCK.matcher(text);
        if (!m.find()) throw new IOException(file + ": no PEM block (expected BEGIN PRIVATE KEY)");
        String type = m.group(1);
        byte[] der = decode(file, m.group(2));
        byte[] pkcs8 = switch (type) {
            case "PRIVATE KEY" -> der;
            case "RSA PRIVATE KEY" -> rsaToPkcs8(der);
            case "ENCRYPTED PRIVATE KEY" -> throw new IOException(file + ": the key is encrypted; the server cannot"
                    + " ask for a passphrase (decrypt it: openssl pkcs8 -in KEY -out KEY.plain)");
            default -> throw new IOException(file + ": a '" + type + "' block is not a key form this reads"
                    + " (convert it: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pkcs8)");
        };
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(pkcs8);
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException | RuntimeException tryNext) {
                // not this algorithm
            }
        }
        throw new IOException(file + ": not an RSA, EC or EdDSA private key the JDK can read");
    }

    private static List<byte[]> blocks(Path file, String wanted) throws IOException {
        List<byte[]> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(read(file));
        while (m.find()) {
            if (m.group(1).equals(wanted)) out.add(decode(file, m.group(2)));
        }
        return out;
    }

    private static String read(Path file) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new IOException(file + ": not a PEM file (binary content)");
        }
    }

    private static byte[] decode(Path file, String base64) throws IOException {
        try {
            return Base64.getMimeDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": bad base64 in a PEM block: " + e.getMessage());
        }
    }

    /** PrivateKeyInfo { version 0, rsaEncryption, OCTET STRING pkcs1 }. */
    private static byte[] rsaToPkcs8(byte[] pkcs1) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x00});
        body.writeBytes(RSA_ALGORITHM);
        body.write(0x04);
        body.writeBytes(derLength(pkcs1.length));
        body.writeBytes(pkcs1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x30);
        out.writeBytes(derLength(body.size()));
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    private static byte[] derLength(int n) {
        if (n < 0x80) return new byte[] {(byte) n};
        if (n < 0x100) return new byte[] {(byte) 0x81, (byte) n};
        if (n < 0x10000) return new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
        return new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
    }
}
