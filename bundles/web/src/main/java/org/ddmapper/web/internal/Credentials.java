package org.ddmapper.web.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who may use the web administration: users and salted password hashes, one {@code USER:HASH}
 * line each ({@link PasswordHash}; blank lines and {@code #} comments allowed). They come from
 * {@code ETC/web-users} when the operator put one there, else from {@code HOME/web/users}; when
 * neither exists (first boot), a user {@code admin} with a random password is generated, its hash
 * written to {@code HOME/web/users} and the password to {@code HOME/web/initial-password} (both
 * mode 0600), and the password printed once by the caller. There is no default password.
 *
 * <p>A successful check is remembered for the process (by the exact Basic credentials) so that a
 * page with live charts does not pay PBKDF2's cost on every request.
 */
public final class Credentials {
    public static final String USER = "admin";
    private final Map<String, PasswordHash> users;
    private final Path source;
    private final Map<String, Boolean> accepted = new ConcurrentHashMap<>();

    private Credentials(Map<String, PasswordHash> users, Path source) {
        this.users = users;
        this.source = source;
    }

    /** The file the users came from. */
    public Path source() { return source; }

    /** What {@link #load} did: the credentials, and the generated password when it made one now (else null). */
    public record Loaded(Credentials credentials, String generatedPassword) {}

    /** Reads the users of {@code etc} or {@code home}, generating the first user when neither has any. */
    public static Loaded load(Path etc, Path home) throws IOException {
        if (etc != null && Files.exists(etc.resolve("web-users"))) return new Loaded(read(etc.resolve("web-users")), null);
        Path file = home.resolve("web").resolve("users");
        if (Files.exists(file)) return new Loaded(read(file), null);
        String password = newPassword();
        Path dir = Files.createDirectories(file.getParent());
        writePrivate(dir.resolve("initial-password"), password + "\n");
        writePrivate(file, "# ddmapper web administration users: USER:pbkdf2-sha256$ITERATIONS$SALT$HASH\n"
                + USER + ":" + PasswordHash.of(password) + "\n");
        return new Loaded(read(file), password);
    }

    /** Parses a users file; IOException naming the file and line for anything that does not read. */
    public static Credentials read(Path file) throws IOException {
        try {
            return new Credentials(parse(Files.readString(file, StandardCharsets.UTF_8)), file);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
    }

    /** The users of a users file's text; IllegalArgumentException naming the line. */
    public static Map<String, PasswordHash> parse(String text) {
        Map<String, PasswordHash> out = new LinkedHashMap<>();
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty() || l.startsWith("#")) continue;
            int colon = l.indexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("line " + (i + 1) + ": expected USER:HASH");
            String user = l.substring(0, colon);
            if (!user.matches("[A-Za-z0-9._-]{1,64}")) throw new IllegalArgumentException("line " + (i + 1) + ": invalid user name");
            if (out.containsKey(user)) throw new IllegalArgumentException("line " + (i + 1) + ": user '" + user + "' given twice");
            try {
                out.put(user, PasswordHash.parse(l.substring(colon + 1)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + (i + 1) + ": " + e.getMessage());
            }
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no user");
        return out;
    }

    /** Whether {@code user} with {@code password} may log in. */
    public boolean check(String user, String password) {
        PasswordHash h = users.get(user);
        if (h == null) return false;
        String key = user + "\0" + password;
        if (accepted.containsKey(key)) return true;
        if (!h.matches(password)) return false;
        if (accepted.size() < 64) accepted.put(key, Boolean.TRUE);
        return true;
    }

    private static String newPassword() {
        String alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        SecureRandom r = new SecureRandom();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20; i++) sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        return sb.toString();
    }

    /** Writes a file readable by its owner only, whole (temp file, then rename). */
    private static void writePrivate(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
