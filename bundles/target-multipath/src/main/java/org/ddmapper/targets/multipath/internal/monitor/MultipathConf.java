package org.ddmapper.targets.multipath.internal.monitor;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads multipath.conf syntax: sections {@code name { ... }}, one {@code keyword value} per
 * line, {@code #} and {@code !} comments, values in double quotes with {@code ""} for a quote.
 * Used: the {@code defaults} section and {@code multipaths { multipath { alias NAME ... } }}.
 * {@code blacklist}, {@code devices} and options that make no sense without SCSI/udev are
 * accepted and ignored; anything else is reported as a problem naming its line, and the rest
 * of the file still applies. Time values are seconds; fractions ({@code 0.5}) are accepted.
 */
public final class MultipathConf {
    private static final Set<String> IGNORED_OPTIONS = Set.of("user_friendly_names", "find_multipaths", "path_grouping_policy",
            "path_selector", "prio", "prio_args", "features", "hardware_handler", "rr_min_io", "rr_min_io_rq", "rr_weight",
            "fast_io_fail_tmo", "dev_loss_tmo", "eh_deadline", "max_retries", "flush_on_last_del", "deferred_remove",
            "find_multipaths_timeout", "alias_prefix", "detect_prio", "detect_checker", "detect_pgpolicy",
            "detect_pgpolicy_use_tpg", "retain_attached_hw_handler", "queue_without_daemon", "verbosity",
            "uxsock_timeout", "wwid", "enable_foreign", "marginal_pathgroups", "ghost_delay", "uid_attribute",
            "getuid_callout", "reservation_key", "all_tg_pt", "max_sectors_kb", "auto_resize", "recheck_wwid",
            "purge_disconnected", "skip_kpartx", "mode", "uid", "gid", "log_checker_err", "retrigger_tries",
            "retrigger_delay", "missing_uev_wait_timeout", "remove_retries", "strict_timing", "delay_watch_checks",
            "delay_wait_checks", "marginal_path_double_failed_time", "marginal_path_err_sample_time",
            "marginal_path_err_rate_threshold", "marginal_path_err_recheck_gap_time");
    private static final Set<String> IGNORED_SECTIONS = Set.of("blacklist", "blacklist_exceptions", "devices", "device",
            "overrides", "protocol");

    /** Deepest nesting of sections read. */
    static final int MAX_DEPTH = 8;

    private final List<String> problems = new ArrayList<>();

    private MultipathConf() {}

    /** Parses a file's text; {@code source} names it in problems. */
    public static MonitorConfig parse(String text, String source) {
        List<Tokenizer.Token> tokens;
        try {
            tokens = Tokenizer.tokenize(text);
        } catch (IllegalArgumentException e) {
            MonitorConfig d = MonitorConfig.DEFAULTS;
            return new MonitorConfig(d.pollingIntervalMillis(), d.maxPollingIntervalMillis(), d.defaults(), Map.of(),
                    List.of(e.getMessage() + "; the whole file is ignored"), source);
        }
        return new MultipathConf().read(tokens, source);
    }

    private record Section(String name, int line, Map<String, Entry> options, List<Section> children) {}

    private record Entry(String value, int line) {}

    private MonitorConfig read(List<Tokenizer.Token> tokens, String source) {
        Section root = new Section("", 0, new LinkedHashMap<>(), new ArrayList<>());
        int[] pos = {0};
        readBody(tokens, pos, root, 0);
        long polling = MonitorConfig.DEFAULTS.pollingIntervalMillis();
        Long maxPolling = null;
        MapPolicy defaults = MapPolicy.DEFAULTS;
        Map<String, MapPolicy> byAlias = new HashMap<>();
        for (Section s : root.children()) {
            switch (s.name()) {
                case "defaults" -> {
                    Entry pi = s.options().remove("polling_interval");
                    if (pi != null) polling = seconds(pi, "polling_interval", polling);
                    Entry mpi = s.options().remove("max_polling_interval");
                    if (mpi != null) maxPolling = seconds(mpi, "max_polling_interval", 0);
                    defaults = policy(s, MapPolicy.DEFAULTS);
                }
                case "multipaths" -> { }
                default -> {
                    if (!IGNORED_SECTIONS.contains(s.name())) problems.add("line " + s.line() + ": unknown section '" + s.name() + "'");
                }
            }
        }
        for (Section s : root.children()) {
            if (!s.name().equals("multipaths")) continue;
            for (Section m : s.children()) {
                if (!m.name().equals("multipath")) {
                    problems.add("line " + m.line() + ": unknown section '" + m.name() + "' in multipaths");
                    continue;
                }
                Entry alias = m.options().remove("alias");
                if (alias == null) {
                    problems.add("line " + m.line() + ": multipath section without an alias is ignored");
                    continue;
                }
                byAlias.put(alias.value(), policy(m, defaults));
            }
        }
        long max = maxPolling != null ? maxPolling : 4 * polling;
        if (max < polling) {
            problems.add("max_polling_interval is below polling_interval; using polling_interval");
            max = polling;
        }
        problems.sort(java.util.Comparator.comparingInt(MultipathConf::lineOf));
        return new MonitorConfig(polling, max, defaults, byAlias, problems, source);
    }

    /** The line a problem names, for ordering; problems without one go last. */
    private static int lineOf(String problem) {
        if (!problem.startsWith("line ")) return Integer.MAX_VALUE;
        int end = problem.indexOf(':');
        try {
            return Integer.parseInt(problem.substring(5, end));
        } catch (RuntimeException e) {
            return Integer.MAX_VALUE;
        }
    }

    private MapPolicy policy(Section s, MapPolicy base) {
        String checker = base.pathChecker();
        long checkerTimeout = base.checkerTimeoutMillis();
        Failback failback = base.failback();
        NoPathRetry retry = base.noPathRetry();
        int threshold = base.flapThreshold();
        int window = base.flapWindowIntervals();
        long hold = base.flapHoldMillis();
        for (Map.Entry<String, Entry> o : s.options().entrySet()) {
            String key = o.getKey();
            Entry e = o.getValue();
            try {
                switch (key) {
                    case "path_checker" -> checker = e.value();
                    case "checker_timeout" -> checkerTimeout = seconds(e, key, checkerTimeout);
                    case "failback" -> failback = Failback.parse(e.value());
                    case "no_path_retry" -> retry = NoPathRetry.parse(e.value());
                    case "san_path_err_threshold" -> threshold = (int) wholeNumber(e.value(), key);
                    case "san_path_err_forget_rate" -> window = (int) wholeNumber(e.value(), key);
                    case "san_path_err_recovery_time" -> hold = wholeNumber(e.value(), key) * 1000;
                    case "polling_interval", "max_polling_interval" ->
                            problems.add("line " + e.line() + ": " + key + " belongs in the defaults section");
                    default -> {
                        if (!IGNORED_OPTIONS.contains(key))
                            problems.add("line " + e.line() + ": unknown option '" + key + "' in " + s.name());
                    }
                }
            } catch (IllegalArgumentException ex) {
                problems.add("line " + e.line() + ": " + ex.getMessage());
            }
        }
        return new MapPolicy(checker, checkerTimeout, failback, retry, threshold, window, hold);
    }

    /**
     * Reads a section's lines ({@code depth} 0: the file) up to its '}'. Sections nest at most
     * {@link #MAX_DEPTH} deep (multipath-tools' go to 3): a deeper one is reported and skipped without
     * recursing, so no file can exhaust the stack.
     */
    private void readBody(List<Tokenizer.Token> tokens, int[] pos, Section into, int depth) {
        boolean top = depth == 0;
        while (pos[0] < tokens.size()) {
            List<Tokenizer.Token> line = new ArrayList<>();
            int lineNo = tokens.get(pos[0]).line();
            while (pos[0] < tokens.size() && tokens.get(pos[0]).line() == lineNo) line.add(tokens.get(pos[0]++));
            Tokenizer.Token first = line.get(0);
            if (first.isClose()) {
                if (top) problems.add("line " + lineNo + ": '}' without a section");
                else return;
                continue;
            }
            if (line.size() >= 2 && line.get(1).isOpen() && !first.quoted()) {
                if (line.size() > 2) problems.add("line " + lineNo + ": text after '{' is ignored");
                if (depth >= MAX_DEPTH) {
                    problems.add("line " + lineNo + ": section '" + first.text() + "' nested deeper than " + MAX_DEPTH + " is ignored");
                    skipSection(tokens, pos, line);
                    continue;
                }
                Section child = new Section(first.text(), lineNo, new LinkedHashMap<>(), new ArrayList<>());
                into.children().add(child);
                readBody(tokens, pos, child, depth + 1);
                continue;
            }
            if (top) {
                problems.add("line " + lineNo + ": option '" + first.text() + "' outside a section");
                continue;
            }
            if (line.size() < 2) {
                problems.add("line " + lineNo + ": option '" + first.text() + "' has no value");
                continue;
            }
            StringBuilder value = new StringBuilder();
            for (int i = 1; i < line.size(); i++) {
                if (line.get(i).isClose() && !line.get(i).quoted()) {
                    problems.add("line " + lineNo + ": '}' must stand on its own line");
                    break;
                }
                if (i > 1) value.append(' ');
                value.append(line.get(i).text());
            }
            into.options().put(first.text(), new Entry(value.toString(), lineNo));
        }
        if (!top) problems.add("section '" + into.name() + "' from line " + into.line() + " is not closed");
    }

    /** Skips past the '}' that closes the section opened on {@code opening} (counting nested braces). */
    private static void skipSection(List<Tokenizer.Token> tokens, int[] pos, List<Tokenizer.Token> opening) {
        int open = 0;
        for (Tokenizer.Token t : opening) open += t.isOpen() ? 1 : t.isClose() ? -1 : 0;
        while (open > 0 && pos[0] < tokens.size()) {
            Tokenizer.Token t = tokens.get(pos[0]++);
            open += t.isOpen() ? 1 : t.isClose() ? -1 : 0;
        }
    }

    private long seconds(Entry e, String key, long fallback) {
        try {
            BigDecimal v = new BigDecimal(e.value());
            if (v.signum() <= 0 || v.compareTo(BigDecimal.valueOf(86_400)) > 0) throw new NumberFormatException();
            long ms = v.movePointRight(3).longValue();
            if (ms < 10) throw new NumberFormatException();
            return ms;
        } catch (NumberFormatException ex) {
            problems.add("line " + e.line() + ": invalid " + key + " '" + e.value() + "' (expected seconds, 0.01..86400)");
            return fallback;
        }
    }

    static long wholeNumber(String word, String key) {
        if (word.isEmpty() || word.length() > 9 || !word.chars().allMatch(Character::isDigit))
            throw new IllegalArgumentException("invalid " + key + " '" + word + "' (expected a whole number)");
        return Long.parseLong(word);
    }

    static long positiveWholeNumber(String word, String key, String expected) {
        if (word.isEmpty() || word.length() > 9 || !word.chars().allMatch(Character::isDigit) || Long.parseLong(word) == 0)
            throw new IllegalArgumentException("invalid " + key + " '" + word + "' (expected " + expected + ")");
        return Long.parseLong(word);
    }

    /** Splits multipath.conf text into tokens with their line numbers. */
    static final class Tokenizer {
        record Token(String text, int line, boolean quoted) {
            boolean isOpen() { return !quoted && text.equals("{"); }

            boolean isClose() { return !quoted && text.equals("}"); }
        }

        static List<Token> tokenize(String text) {
            List<Token> out = new ArrayList<>();
            String[] lines = text.split("\n", -1);
            for (int n = 0; n < lines.length; n++) {
                String l = lines[n];
                int i = 0;
                while (i < l.length()) {
                    char c = l.charAt(i);
                    if (Character.isWhitespace(c)) {
                        i++;
                    } else if (c == '#' || c == '!') {
                        break;
                    } else if (c == '{' || c == '}') {
                        out.add(new Token(String.valueOf(c), n + 1, false));
                        i++;
                    } else if (c == '"') {
                        StringBuilder sb = new StringBuilder();
                        i++;
                        boolean closed = false;
                        while (i < l.length()) {
                            char d = l.charAt(i);
                            if (d == '"') {
                                if (i + 1 < l.length() && l.charAt(i + 1) == '"') {
                                    sb.append('"');
                                    i += 2;
                                    continue;
                                }
                                closed = true;
                                i++;
                                break;
                            }
                            sb.append(d);
                            i++;
                        }
                        if (!closed) throw new IllegalArgumentException("line " + (n + 1) + ": unterminated quote");
                        out.add(new Token(sb.toString(), n + 1, true));
                    } else {
                        int start = i;
                        while (i < l.length() && !Character.isWhitespace(l.charAt(i)) && "{}\"#!".indexOf(l.charAt(i)) < 0) i++;
                        out.add(new Token(l.substring(start, i), n + 1, false));
                    }
                }
            }
            return out;
        }
    }
}
