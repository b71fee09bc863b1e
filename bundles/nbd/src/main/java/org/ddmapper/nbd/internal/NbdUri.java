package org.ddmapper.nbd.internal;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/**
 * An NBD device reference: {@code nbd://HOST[:PORT]/EXPORT} or
 * {@code nbd+unix:///EXPORT?socket=PATH} (the NBD URI syntax), and their TLS forms {@code nbds://}
 * and {@code nbds+unix://}, which may name the certificate directory with {@code
 * tls-certificates=DIR} (as libnbd does; else the client's configured one). Two query parameters
 * of our own, {@code size=BYTES} and {@code flags=0xNNNN}, tell the export size and the
 * transmission flags for a passed socket whose handshake someone else already did.
 *
 * @param sizeBytes the size given with {@code size=}, or -1
 * @param flags the transmission flags given with {@code flags=} (16 bits, hex with 0x or decimal), or -1
 * @param tls whether the scheme asks for TLS (nbds, nbds+unix)
 * @param tlsCertificates the {@code tls-certificates=} directory, or null
 */
public record NbdUri(String reference, String host, int port, Path socket, String export, long sizeBytes, int flags,
                     boolean tls, Path tlsCertificates) {

    /** The reference without our own parameters: what identifies the export across connections. */
    public String baseReference() {
        int q = reference.indexOf('?');
        if (q < 0) return reference;
        StringBuilder kept = new StringBuilder();
        for (String pair : reference.substring(q + 1).split("&")) {
            String key = URLDecoder.decode(pair.contains("=") ? pair.substring(0, pair.indexOf('=')) : pair, StandardCharsets.UTF_8);
            if (key.equals("size") || key.equals("flags")) continue;
            kept.append(kept.length() == 0 ? "" : "&").append(pair);
        }
        return reference.substring(0, q) + (kept.length() == 0 ? "" : "?" + kept);
    }

    public boolean unix() {
        return socket != null;
    }

    /** Where the server is, for messages. */
    public String where() {
        return unix() ? socket.toString() : new HostPort(host, port).toString();
    }

    /** Parses a reference; errors name what is wrong with it. */
    public static NbdUri parse(String reference) {
        URI uri;
        try {
            uri = new URI(reference);
        } catch (URISyntaxException e) {
            throw invalid(reference, "not a URI: " + e.getReason());
        }
        String scheme = uri.getScheme();
        if (scheme == null) throw invalid(reference, "no scheme (nbd://, nbds://, nbd+unix:// or nbds+unix://)");
        String path = uri.getPath() == null ? "" : uri.getPath();
        String export = path.startsWith("/") ? path.substring(1) : path;
        String socket = null;
        String certificates = null;
        long size = -1;
        int flags = -1;
        String query = uri.getRawQuery();
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                switch (key) {
                    case "socket" -> socket = value;
                    case "tls-certificates" -> certificates = value;
                    case "size" -> {
                        try {
                            size = Long.parseLong(value);
                        } catch (NumberFormatException e) {
                            size = -2;
                        }
                        if (size < 0 || size % 512 != 0)
                            throw invalid(reference, "size '" + value + "' is not a whole number of 512-byte sectors");
                    }
                    case "flags" -> {
                        try {
                            flags = value.startsWith("0x") || value.startsWith("0X")
                                    ? Integer.parseInt(value.substring(2), 16) : Integer.parseInt(value);
                        } catch (NumberFormatException e) {
                            flags = -2;
                        }
                        if (flags < 0 || flags > 0xFFFF)
                            throw invalid(reference, "flags '" + value + "' are not 16-bit transmission flags (0x0000..0xffff)");
                    }
                    default -> throw invalid(reference, "unknown parameter '" + key + "'");
                }
            }
        }
        boolean tls = scheme.equals("nbds") || scheme.equals("nbds+unix");
        if (certificates != null && !tls) throw invalid(reference, "tls-certificates= belongs to nbds:// and nbds+unix://");
        if (certificates != null && certificates.isEmpty()) throw invalid(reference, "tls-certificates= names no directory");
        Path certs = certificates == null ? null : Path.of(certificates);
        switch (scheme) {
            case "nbd", "nbds" -> {
                if (uri.getHost() == null || uri.getHost().isEmpty()) throw invalid(reference, "no host");
                if (socket != null) throw invalid(reference, "socket= belongs to " + scheme + "+unix://");
                String host = uri.getHost();
                if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
                return new NbdUri(reference, host, uri.getPort() < 0 ? Nbd.DEFAULT_PORT : uri.getPort(), null, export, size,
                        flags, tls, certs);
            }
            case "nbd+unix", "nbds+unix" -> {
                if (uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty())
                    throw invalid(reference, scheme + ":// takes no host (" + scheme + ":///EXPORT?socket=PATH)");
                if (socket == null || socket.isEmpty()) throw invalid(reference, "no socket=PATH");
                return new NbdUri(reference, null, -1, Path.of(socket), export, size, flags, tls, certs);
            }
            default -> throw invalid(reference, "scheme '" + scheme + "' is not nbd, nbds, nbd+unix or nbds+unix");
        }
    }

    private static DmException invalid(String reference, String why) {
        return new DmException(Errno.EINVAL, "invalid NBD reference '" + reference + "': " + why);
    }
}
