package org.ddmapper.nbd.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;
import org.tinylog.Logger;

/**
 * Per-export allow lists, so one appliance can serve several tenants: a file (framework property
 * {@value #FILE_PROPERTY}) of lines {@code EXPORT RULE}, where RULE is {@code cn:NAME} (the common
 * name of a client certificate the CA signed: needs verify-peer), {@code dn:DN} (its whole subject,
 * compared as X.500 names), {@code addr:IP[/BITS]} (the client's address, plain text or TLS) or
 * {@code unix} (clients of the Unix socket). An export the file names is seen (LIST) and opened
 * (GO, INFO, EXPORT_NAME) only by clients matching one of its lines; other exports are open to
 * all. {@code #} starts a comment. The file is looked at again (size and time, at most once a
 * second) and reloaded when it changed; a version that does not parse is logged and the previous
 * one kept.
 */
public final class ExportAccess {
    public static final String FILE_PROPERTY = "ddmapper.nbd.allow.file";
    public static final ExportAccess OPEN = new ExportAccess(null, Map.of());

    /** One allow rule. */
    public sealed interface Rule {
        boolean matches(InetAddress peer, X500Principal subject);
    }

    record CommonName(String name) implements Rule {
        @Override
        public boolean matches(InetAddress peer, X500Principal subject) {
            return subject != null && name.equals(commonName(subject));
        }
    }

    record Subject(X500Principal dn) implements Rule {
        @Override
        public boolean matches(InetAddress peer, X500Principal subject) {
            return dn.equals(subject);
        }
    }

    record Network(byte[] address, int bits) implements Rule {
        @Override
        public boolean matches(InetAddress peer, X500Principal subject) {
            if (peer == null) return false;
            byte[] a = peer.getAddress();
            if (a.length != address.length) return false;
            for (int i = 0; i < bits; i++) {
                int mask = 0x80 >> (i % 8);
                if ((a[i / 8] & mask) != (address[i / 8] & mask)) return false;
            }
            return true;
        }
    }

    record UnixSocket() implements Rule {
        @Override
        public boolean matches(InetAddress peer, X500Principal subject) {
            return peer == null;
        }
    }

    private final Path file;
    private volatile Map<String, List<Rule>> rules;
    private volatile String stamp;
    private volatile long checkedNanos;

    private ExportAccess(Path file, Map<String, List<Rule>> rules) {
        this.file = file;
        this.rules = rules;
    }

    /** Loads the file now; one that is missing or does not parse is an IOException naming the line. */
    public static ExportAccess load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such file");
        ExportAccess a = new ExportAccess(file, parse(Files.readString(file), file.toString()));
        a.stamp = stampOf(file);
        a.checkedNanos = System.nanoTime();
        return a;
    }

    /** Parses the file's text; a bad line is an IOException with {@code where}:LINE and the reason. */
    public static Map<String, List<Rule>> parse(String text, String where) throws IOException {
        Map<String, List<Rule>> out = new LinkedHashMap<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            if (hash >= 0) line = line.substring(0, hash);
            line = line.strip();
            if (line.isEmpty()) continue;
            String[] parts = line.split("\\s+", 2);
            if (parts.length < 2) throw new IOException(where + ":" + (i + 1) + ": expected EXPORT RULE, got '" + line + "'");
            try {
                out.computeIfAbsent(parts[0], k -> new ArrayList<>()).add(rule(parts[1].strip()));
            } catch (IllegalArgumentException e) {
                throw new IOException(where + ":" + (i + 1) + ": " + e.getMessage());
            }
        }
        out.replaceAll((k, v) -> List.copyOf(v));
        return Map.copyOf(out);
    }

    private static Rule rule(String text) {
        if (text.equals("unix")) return new UnixSocket();
        if (text.startsWith("cn:") && text.length() > 3) return new CommonName(text.substring(3));
        if (text.startsWith("dn:")) {
            try {
                return new Subject(new X500Principal(text.substring(3)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + text.substring(3) + "' is not an X.500 name");
            }
        }
        if (text.startsWith("addr:")) {
            String spec = text.substring(5);
            int slash = spec.indexOf('/');
            String ip = slash < 0 ? spec : spec.substring(0, slash);
            if (!ip.matches("[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*"))
                throw new IllegalArgumentException("'" + ip + "' is not an IP address (no host names)");
            byte[] address;
            try {
                address = InetAddress.getByName(ip).getAddress();
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("'" + ip + "' is not an IP address");
            }
            int bits = address.length * 8;
            if (slash >= 0) {
                try {
                    bits = Integer.parseInt(spec.substring(slash + 1));
                } catch (NumberFormatException e) {
                    bits = -1;
                }
                if (bits < 0 || bits > address.length * 8)
                    throw new IllegalArgumentException("prefix '/" + spec.substring(slash + 1) + "' is not 0.." + address.length * 8);
            }
            return new Network(address, bits);
        }
        throw new IllegalArgumentException("'" + text + "' is not a rule (cn:NAME, dn:DN, addr:IP[/BITS] or unix)");
    }

    /** Null when the client may use the export, else why not (for the refusal and the log). */
    public String refusal(String export, InetAddress peer, X500Principal subject) {
        reloadIfChanged();
        List<Rule> list = rules.get(export);
        if (list == null) return null;
        for (Rule r : list) {
            if (r.matches(peer, subject)) return null;
        }
        return "export '" + export + "' is not allowed for this client (" + (peer == null ? "unix socket"
                : "address " + peer.getHostAddress()) + ", " + (subject == null ? "no verified certificate"
                : "certificate subject " + subject.getName()) + ")";
    }

    private void reloadIfChanged() {
        if (file == null || System.nanoTime() - checkedNanos < 1_000_000_000L) return;
        synchronized (this) {
            if (System.nanoTime() - checkedNanos < 1_000_000_000L) return;
            checkedNanos = System.nanoTime();
            String now;
            try {
                now = stampOf(file);
            } catch (IOException e) {
                now = "unreadable";
            }
            if (now.equals(stamp)) return;
            stamp = now;
            try {
                rules = parse(Files.readString(file), file.toString());
                Logger.info("nbd: export allow lists reloaded from {}", file);
            } catch (IOException e) {
                Logger.warn("nbd: export allow lists in {} do not load ({}); still using the previous ones", file, e.getMessage());
            }
        }
    }

    private static String stampOf(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        return a.size() + "@" + a.lastModifiedTime().toMillis();
    }

    static String commonName(X500Principal subject) {
        try {
            for (Rdn rdn : new LdapName(subject.getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) return rdn.getValue().toString();
            }
        } catch (InvalidNameException e) {
            return null;
        }
        return null;
    }
}
