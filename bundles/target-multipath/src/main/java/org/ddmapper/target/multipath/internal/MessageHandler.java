package org.ddmapper.target.multipath.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.Message;
import org.ddmapper.api.PassedFd;

/**
 * The kernel's multipath messages (fail_path, reinstate_path, switch_group, disable_group,
 * enable_group, queue_if_no_path, fail_if_no_path; refused with EBUSY while suspended), plus
 * {@code reconnect_path <path> [negotiated]} with one passed socket, and the read-only views
 * {@code show paths|topology|daemon} (allowed while suspended).
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
        if (t.isSuspended())
            throw new DmException(Errno.EBUSY, "multipath: '" + verb + "' refused: the device is suspended");
        if (!verb.equals("reconnect_path")) refuseFds(verb, m);
        switch (verb) {
            case "queue_if_no_path", "fail_if_no_path" -> {
                expectArgs(w, 0);
                t.setQueueIfNoPath(verb.equals("queue_if_no_path"), verb + " message");
            }
            case "switch_group" -> {
                expectArgs(w, 1);
                t.switchGroup(group(t, w.get(1)), "switch_group message");
            }
            case "disable_group", "enable_group" -> {
                expectArgs(w, 1);
                t.bypassGroup(group(t, w.get(1)), verb.equals("disable_group"), verb + " message");
            }
            case "fail_path" -> {
                expectArgs(w, 1);
                for (Path p : paths(t, w.get(1))) t.failPath(p, "fail_path message", true);
            }
            case "reinstate_path" -> {
                expectArgs(w, 1);
                for (Path p : paths(t, w.get(1))) reinstate(t, p);
            }
            case "reconnect_path" -> {
                return reconnect(t, m);
            }
            default -> throw invalid("unknown message '" + abbreviate(w.get(0)) + "' (expected " + VERBS + ")");
        }
        return "";
    }

    private static void reinstate(MultipathTarget t, Path p) {
        if (p.isActive()) return;
        if (p.device() == null) t.replaceDevice(p, t.reopen(p), true, "reinstate_path message");
        else t.reinstatePath(p, "reinstate_path message");
    }

    private static String reconnect(MultipathTarget t, Message m) {
        List<String> w = m.words();
        try {
            if (w.size() < 2 || w.size() > 3)
                throw invalid("reconnect_path needs <path> [negotiated], got " + (w.size() - 1) + " arguments");
            boolean negotiated = false;
            if (w.size() == 3) {
                if (!w.get(2).equals("negotiated"))
                    throw invalid("reconnect_path: unknown option '" + abbreviate(w.get(2)) + "' (expected negotiated)");
                negotiated = true;
            }
            if (m.fds().size() != 1)
                throw invalid("reconnect_path needs exactly one passed socket, got " + m.fds().size());
            List<Path> found = paths(t, w.get(1));
            if (found.size() != 1)
                throw invalid("reconnect_path: '" + abbreviate(w.get(1)) + "' names " + found.size()
                        + " paths; name one by its number");
            PassedFd socket = m.fds().get(0);
            return t.reconnect(found.get(0), socket, negotiated);
        } finally {
            m.closeFds();
        }
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
