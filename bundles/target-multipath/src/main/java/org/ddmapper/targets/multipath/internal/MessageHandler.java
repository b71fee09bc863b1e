package org.ddmapper.targets.multipath.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;
import org.tinylog.Logger;

/**
 * The kernel's multipath messages (fail_path, reinstate_path, switch_group, disable_group,
 * enable_group, queue_if_no_path, fail_if_no_path; refused with EBUSY while suspended — checked
 * under the target's lock together with the change, as the kernel holds work_mutex), plus
 * {@code reconnect_path <path> [negotiated [size=BYTES] [flags=0xNNNN]]} with one passed socket,
 * and the read-only views {@code show paths|topology|daemon} (allowed while suspended).
 */
final class MessageHandler {
    static final String VERBS = "fail_path, reinstate_path, switch_group, disable_group, enable_group, "
            + "queue_if_no_path, fail_if_no_path, reconnect_path or show";

    private MessageHandler() {}

    static String handle(MultipathTarget t, Message m) {
        List<String> w = m.words();
        if (w.isEmpty()) throw invalid("empty message (expected " + VERBS + ")");
        for (String word : w)
            if (word.isEmpty() || word.chars().anyMatch(Character::isISOControl))
                throw invalid("message words must be non-empty and free of control characters");
        String verb = w.get(0).toLowerCase(Locale.ROOT);
        if (verb.equals("show")) {
            refuseFds(verb, m);
            return TopologyView.show(t, w.subList(1, w.size()));
        }
        // a quick refusal before any slow work; the check that counts is made again under the
        // target's lock together with the change (MultipathTarget.act)
        if (t.isSuspended()) {
            m.closeFds();
            throw new DmException(Errno.EBUSY, "multipath: '" + verb + "' refused: the device is suspended");
        }
        if (!verb.equals("reconnect_path")) refuseFds(verb, m);
        switch (verb) {
            case "queue_if_no_path", "fail_if_no_path" -> {
                expectArgs(w, 0);
                boolean queue = verb.equals("queue_if_no_path");
                t.act(verb, fx -> t.state().setQueueLocked(queue, verb + " message", fx));
            }
            case "switch_group" -> {
                expectArgs(w, 1);
                int g = group(t, w.get(1));
                t.act(verb, fx -> t.state().switchGroupLocked(g, "switch_group message"));
            }
            case "disable_group", "enable_group" -> {
                expectArgs(w, 1);
                int g = group(t, w.get(1));
                t.act(verb, fx -> t.state().bypassGroupLocked(g, verb.equals("disable_group"), verb + " message"));
            }
            case "fail_path" -> {
                expectArgs(w, 1);
                List<Path> found = paths(t, w.get(1));
                t.act(verb, fx -> {
                    for (Path p : found) t.state().failLocked(p, "fail_path message", true, fx);
                });
            }
            case "reinstate_path" -> {
                expectArgs(w, 1);
                reinstate(t, paths(t, w.get(1)));
            }
            case "reconnect_path" -> {
                return reconnect(t, m);
            }
            default -> throw invalid("unknown message '" + abbreviate(w.get(0)) + "' (expected " + VERBS + ")");
        }
        return "";
    }

    /** reinstate_path: a path with no device (down when the table loaded) is opened first, outside the lock. */
    private static void reinstate(MultipathTarget t, List<Path> found) {
        Map<Path, BlockDevice> fresh = new LinkedHashMap<>();
        try {
            for (Path p : found) if (!p.isActive() && p.device() == null) fresh.put(p, t.reopen(p));
            t.act("reinstate_path", fx -> {
                for (Path p : found) {
                    BlockDevice d = fresh.get(p);
                    if (d != null && p.device() == null && !p.isActive()) {
                        if (t.replaceLocked(p, d, true, "reinstate_path message", -1, "reopened", fx)) fresh.remove(p);
                    } else {
                        t.state().reinstateLocked(p, "reinstate_path message", fx);
                    }
                }
            });
        } finally {
            fresh.values().forEach(MultipathTarget::closeQuietly);
        }
    }

    static final String RECONNECT_GRAMMAR = "reconnect_path <path> [negotiated [size=BYTES] [flags=0xNNNN]]";

    private static String reconnect(MultipathTarget t, Message m) {
        List<String> w = m.words();
        try {
            if (w.size() < 2 || w.size() > 5)
                throw invalid("reconnect_path needs <path> [negotiated [size=BYTES] [flags=0xNNNN]], got "
                        + (w.size() - 1) + " arguments");
            boolean negotiated = false;
            long size = -1;
            int flags = -1;
            for (int i = 2; i < w.size(); i++) {
                String word = w.get(i);
                if (i == 2) {
                    if (!word.equals("negotiated"))
                        throw invalid("reconnect_path: unknown option '" + abbreviate(word) + "' (expected negotiated)");
                    negotiated = true;
                } else if (word.startsWith("size=") && size < 0) {
                    size = parseSize(t, word.substring(5));
                } else if (word.startsWith("flags=") && flags < 0) {
                    flags = parseFlags(word.substring(6));
                } else {
                    throw invalid("reconnect_path: unknown or repeated option '" + abbreviate(word)
                            + "' after negotiated (expected size=BYTES or flags=0xNNNN)");
                }
            }
            if (m.fds().size() != 1)
                throw invalid("reconnect_path needs exactly one passed socket, got " + m.fds().size());
            List<Path> found = paths(t, w.get(1));
            if (found.size() != 1)
                throw invalid("reconnect_path: '" + abbreviate(w.get(1)) + "' names " + found.size()
                        + " paths; name one by its number");
            Path path = found.get(0);
            PassedFd socket = m.fds().get(0);
            long adoptStart = System.nanoTime();
            BlockDevice device = t.context().adoptSocket(adoptReference(t, path.reference(), negotiated, size, flags), socket,
                    negotiated);
            boolean[] installed = new boolean[1];
            String transport = negotiated ? "passed-socket-negotiated" : "passed-socket";
            try {
                long swapStart = System.nanoTime();
                t.checkSize(path.reference(), device);
                t.act("reconnect_path", fx -> installed[0] = t.replaceLocked(path, device, true, "reconnect_path message", -1,
                        transport, fx));
                if (!installed[0]) throw new DmException(Errno.ENODEV, "multipath: the map was torn down");
                // what a reconnect costs inside the appliance (the rest of a `ddsetup message` is the CLI's start)
                Logger.info("multipath: path {} reconnected on a passed socket ({}): adopting it {} ms, the swap {} ms",
                        path.reference(), transport, (swapStart - adoptStart) / 1_000_000, (System.nanoTime() - swapStart) / 1_000_000);
            } finally {
                if (!installed[0]) MultipathTarget.closeQuietly(device);
            }
            return "";
        } finally {
            m.closeFds();
        }
    }

    /**
     * The reference to adopt a socket under. With no handshake on it the transport cannot learn
     * the export's size or transmission flags: an NBD reference gets {@code size=} (the one the
     * message gave, else the target's length) and {@code flags=} when the message gave them (else
     * the NBD client falls back to the flags of this reference's last handshake, or refuses).
     */
    static String adoptReference(MultipathTarget t, String reference, boolean negotiated, long sizeBytes, int flags) {
        if (!negotiated || !reference.startsWith("nbd")) return reference;
        StringBuilder r = new StringBuilder(reference);
        if (!reference.contains("size=")) {
            r.append(r.indexOf("?") >= 0 ? '&' : '?').append("size=")
                    .append(sizeBytes >= 0 ? sizeBytes : t.context().lengthSectors() * Bio.SECTOR_BYTES);
        }
        if (flags >= 0 && !reference.contains("flags=")) {
            r.append(r.indexOf("?") >= 0 ? '&' : '?').append("flags=0x").append(Integer.toHexString(flags));
        }
        return r.toString();
    }

    /** size=BYTES of a negotiated socket: whole sectors, at least the target's length. */
    private static long parseSize(MultipathTarget t, String value) {
        long bytes;
        try {
            bytes = Long.parseLong(value);
        } catch (NumberFormatException e) {
            bytes = -1;
        }
        if (bytes <= 0 || bytes % Bio.SECTOR_BYTES != 0)
            throw invalid("reconnect_path: size '" + abbreviate(value) + "' is not a positive whole number of 512-byte sectors");
        return bytes;
    }

    /** flags=N: the 16 transmission flags the server sent in its handshake (0x hex or decimal). */
    private static int parseFlags(String value) {
        int flags;
        try {
            flags = value.startsWith("0x") || value.startsWith("0X") ? Integer.parseInt(value.substring(2), 16) : Integer.parseInt(value);
        } catch (NumberFormatException e) {
            flags = -1;
        }
        if (flags < 0 || flags > 0xFFFF)
            throw invalid("reconnect_path: flags '" + abbreviate(value) + "' are not the 16-bit transmission flags (0x0000..0xffff)");
        return flags;
    }

    private static void refuseFds(String verb, Message m) {
        if (!m.fds().isEmpty()) {
            m.closeFds();
            throw invalid("'" + verb + "' takes no passed file descriptor (got " + m.fds().size() + ")");
        }
    }

    private static void expectArgs(List<String> w, int n) {
        if (w.size() - 1 != n)
            throw invalid(w.get(0) + " needs " + n + " argument" + (n == 1 ? "" : "s") + ", got " + (w.size() - 1));
    }

    /** A group number 1..#groups. */
    static int group(MultipathTarget t, String word) {
        int n = t.groups().size();
        if (!word.isEmpty() && word.length() <= 4 && word.chars().allMatch(Character::isDigit) && word.charAt(0) != '0') {
            int g = Integer.parseInt(word);
            if (g <= n) return g;
        }
        throw invalid("invalid priority group '" + abbreviate(word) + "' (expected 1.." + n + ")");
    }

    /** The paths a word names: every path with that reference, else the path with that number. */
    static List<Path> paths(MultipathTarget t, String word) {
        List<Path> found = new ArrayList<>();
        for (Path p : t.paths()) if (p.reference().equals(word)) found.add(p);
        if (found.isEmpty() && !word.isEmpty() && word.length() <= 6 && word.chars().allMatch(Character::isDigit)) {
            int n = Integer.parseInt(word);
            if (n >= 1 && n <= t.paths().size()) found.add(t.paths().get(n - 1));
        }
        if (found.isEmpty()) throw invalid("no path '" + abbreviate(word) + "' in this map");
        return found;
    }

    static DmException invalid(String message) {
        return new DmException(Errno.EINVAL, "multipath: " + message);
    }

    static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 61) + "...";
    }
}
