package org.ddmapper.control.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.ddmapper.control.unix.PeerCred;

/**
 * Who may use the control socket, from {@code ETC/control.conf}. Root and the appliance's own
 * uid always have full access; the file grants more, one rule per line:
 *
 * <pre>
 *   allow uid 1001                 # full access
 *   allow user backup read-only    # only ops that change nothing
 *   allow group operators read-only
 *   allow gid 27 read-only
 *   socket-mode 0660               # mode of the socket file (default 0600)
 *   socket-group operators         # group of the socket file
 * </pre>
 *
 * A group rule matches the peer's primary gid and its supplementary groups.
 */
final class AllowList {
    /** One grant. */
    record Rule(boolean group, int id, Access access) {}

    private final int ownUid;
    private final List<Rule> rules;
    private final Set<PosixFilePermission> socketMode;
    private final String socketGroup;

    AllowList(int ownUid, List<Rule> rules, Set<PosixFilePermission> socketMode, String socketGroup) {
        this.ownUid = ownUid;
        this.rules = List.copyOf(rules);
        this.socketMode = Set.copyOf(socketMode);
        this.socketGroup = socketGroup;
    }

    /** Only root and {@code ownUid}, socket mode 0600. */
    static AllowList defaults(int ownUid) {
        return new AllowList(ownUid, List.of(), PosixFilePermissions.fromString("rw-------"), null);
    }

    /** Reads {@code file}; a missing file means the defaults. Errors name the line. */
    static AllowList load(Path file, int ownUid) throws IOException {
        if (file == null || !Files.exists(file)) return defaults(ownUid);
        List<Rule> rules = new ArrayList<>();
        Set<PosixFilePermission> mode = PosixFilePermissions.fromString("rw-------");
        String group = null;
        List<String> lines = readLines(file);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            if (hash >= 0) line = line.substring(0, hash);
            String[] w = line.trim().split("\\s+");
            if (w.length == 1 && w[0].isEmpty()) continue;
            String where = file + " line " + (i + 1) + ": ";
            switch (w[0]) {
                case "allow" -> rules.add(rule(w, where));
                case "socket-mode" -> mode = mode(w, where);
                case "socket-group" -> {
                    if (w.length != 2) throw new IOException(where + "expected 'socket-group NAME'");
                    group = w[1];
                }
                default -> throw new IOException(where + "unknown keyword '" + w[0] + "' (expected allow, socket-mode or socket-group)");
            }
        }
        return new AllowList(ownUid, rules, mode, group);
    }

    /** The file's lines, each strictly UTF-8: bytes that are not name the file and the line. */
    private static List<String> readLines(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        List<String> lines = new ArrayList<>();
        for (int start = 0; start < bytes.length; ) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') end++;
            try {
                lines.add(utf8.decode(ByteBuffer.wrap(bytes, start, end - start)).toString());
            } catch (CharacterCodingException e) {
                throw new IOException(file + " line " + (lines.size() + 1) + ": not UTF-8 text");
            }
            start = end + 1;
        }
        return lines;
    }

    private static Rule rule(String[] w, String where) throws IOException {
        if (w.length < 3 || w.length > 4 || (w.length == 4 && !w[3].equals("read-only")))
            throw new IOException(where + "expected 'allow uid|user|gid|group WHO [read-only]'");
        Access access = w.length == 4 ? Access.READ_ONLY : Access.FULL;
        return switch (w[1]) {
            case "uid" -> new Rule(false, number(w[2], where), access);
            case "gid" -> new Rule(true, number(w[2], where), access);
            case "user" -> new Rule(false, Accounts.uid(w[2]).orElseThrow(() -> new IOException(where + "no user '" + w[2] + "'")), access);
            case "group" -> new Rule(true, Accounts.gid(w[2]).orElseThrow(() -> new IOException(where + "no group '" + w[2] + "'")), access);
            default -> throw new IOException(where + "unknown subject '" + w[1] + "' (expected uid, user, gid or group)");
        };
    }

    private static Set<PosixFilePermission> mode(String[] w, String where) throws IOException {
        if (w.length != 2 || !w[1].matches("0?[0-7]{3}"))
            throw new IOException(where + "expected 'socket-mode' and an octal mode such as 0660");
        int bits = Integer.parseInt(w[1], 8);
        if ((bits & 0600) != 0600) throw new IOException(where + "socket-mode must keep the owner's read and write bits");
        StringBuilder sb = new StringBuilder();
        String rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) sb.append((bits & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
        return PosixFilePermissions.fromString(sb.toString());
    }

    private static int number(String word, String where) throws IOException {
        if (!word.matches("[0-9]{1,10}")) throw new IOException(where + "invalid id '" + word + "'");
        long v = Long.parseLong(word);
        if (v > Integer.MAX_VALUE) throw new IOException(where + "invalid id '" + word + "'");
        return (int) v;
    }

    Set<PosixFilePermission> socketMode() { return socketMode; }

    String socketGroup() { return socketGroup; }

    /** What this peer may do (the widest of the rules that match it). */
    Access decide(PeerCred peer) {
        if (peer.uid() == 0 || peer.uid() == ownUid) return Access.FULL;
        Set<Integer> groups = null;
        Access best = Access.NONE;
        for (Rule r : rules) {
            boolean matches;
            if (!r.group()) {
                matches = r.id() == peer.uid();
            } else {
                if (groups == null) groups = groups(peer);
                matches = groups.contains(r.id());
            }
            if (matches && r.access().ordinal() < best.ordinal()) best = r.access();
        }
        return best;
    }

    /** The peer's primary gid and, while its process lives, its supplementary groups. */
    private static Set<Integer> groups(PeerCred peer) {
        Set<Integer> groups = new HashSet<>();
        groups.add(peer.gid());
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(peer.pid()), "status"))) {
                if (!line.startsWith("Groups:")) continue;
                for (String g : line.substring(7).trim().split("\\s+")) if (!g.isEmpty()) groups.add(Integer.parseInt(g));
            }
        } catch (IOException | NumberFormatException gone) {
            // the process exited: the primary gid is all we know
        }
        return groups;
    }
}
