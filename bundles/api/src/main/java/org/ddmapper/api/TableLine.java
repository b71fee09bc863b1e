package org.ddmapper.api;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of a table: {@code <start> <length> <type> <args...>}, sectors of 512 bytes.
 * Parsing follows the kernel's rules ({@code dm_split_args}): words split at white space, a
 * backslash makes the next character literal. {@link #toString()} parses back to an equal line.
 */
public record TableLine(long startSector, long lengthSectors, String type, List<String> args) {

    /** Longest table line accepted, in characters. */
    public static final int MAX_LINE_CHARS = 64 * 1024;
    /** Most words accepted on one line. */
    public static final int MAX_WORDS = 4096;
    /** Most lines accepted in one table. */
    public static final int MAX_LINES = 10_000;

    public TableLine {
        args = List.copyOf(args);
    }

    /** Parses one line; errors name what was wrong. */
    public static TableLine parse(String line) {
        List<String> words = splitWords(line);
        if (words.size() < 3)
            throw invalid("a table line needs <start> <length> <type>, got '" + abbreviate(line) + "'");
        long start = parseSectors("start sector", words.get(0));
        long length = parseSectors("length", words.get(1));
        return new TableLine(start, length, words.get(2), words.subList(3, words.size()));
    }

    /**
     * Parses a whole table (one line per target; blank lines and lines starting with '#' are
     * skipped). Errors name the line. Does not check contiguity; the core does.
     */
    public static List<TableLine> parseTable(String text) {
        List<TableLine> lines = new ArrayList<>();
        if (text == null) return lines;
        String[] raw = text.split("\n", -1);
        for (int i = 0; i < raw.length; i++) {
            String line = raw[i].endsWith("\r") ? raw[i].substring(0, raw[i].length() - 1) : raw[i];
            if (line.isBlank() || line.stripLeading().startsWith("#")) continue;
            if (lines.size() >= MAX_LINES) throw invalid("table has more than " + MAX_LINES + " lines");
            try {
                lines.add(parse(line));
            } catch (DmException e) {
                throw new DmException(e.errno(), "line " + (i + 1) + ": " + e.getMessage());
            }
        }
        return lines;
    }

    /** Splits a line into words the kernel's way; rejects control characters and over-long input. */
    public static List<String> splitWords(String line) {
        if (line.length() > MAX_LINE_CHARS) throw invalid("table line longer than " + MAX_LINE_CHARS + " characters");
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\') {
                if (i + 1 >= line.length()) throw invalid("table line ends with a lone backslash");
                char next = line.charAt(++i);
                if (notText(next)) throw invalid("control character 0x" + Integer.toHexString(next) + " in table line");
                word.append(next);
                inWord = true;
            } else if (c == ' ' || c == '\t') {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                    if (words.size() > MAX_WORDS) throw invalid("table line has more than " + MAX_WORDS + " words");
                }
            } else if (notText(c)) {
                throw invalid("control character 0x" + Integer.toHexString(c) + " in table line");
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (inWord) words.add(word.toString());
        if (words.size() > MAX_WORDS) throw invalid("table line has more than " + MAX_WORDS + " words");
        return words;
    }

    /** A control character, or U+FFFD (bytes that were not UTF-8): refused in a word, escaped or not. */
    private static boolean notText(char c) {
        return Character.isISOControl(c) || c == 0xFFFD;
    }

    /** Writes a word so that {@link #splitWords} reads it back unchanged. */
    public static String escape(String word) {
        if (word.indexOf(' ') < 0 && word.indexOf('\t') < 0 && word.indexOf('\\') < 0) return word;
        StringBuilder sb = new StringBuilder();
        for (char c : word.toCharArray()) {
            if (c == ' ' || c == '\t' || c == '\\') sb.append('\\');
            sb.append(c);
        }
        return sb.toString();
    }

    /** Strict unsigned decimal (digits only, leading zeros allowed as the kernel's, no sign, no trailing garbage, no overflow). */
    static long parseSectors(String what, String word) {
        long v = parseUnsigned(word);
        if (v < 0) throw invalid("invalid " + what + " '" + abbreviate(word) + "'");
        return v;
    }

    /**
     * The one reading of an unsigned decimal that tables use, for {@link org.ddmapper.spi.TableArgs}
     * too: ASCII digits only, leading zeros allowed ("007" is 7, as the kernel's kstrtoull reads it),
     * no sign, no spaces; -1 when the word is not such a number or exceeds {@code Long.MAX_VALUE}.
     */
    public static long parseUnsigned(String word) {
        if (word == null || word.isEmpty()) return -1;
        int at = 0;
        while (at < word.length() - 1 && word.charAt(at) == '0') at++;
        if (word.length() - at > 19) return -1;
        long v = 0;
        for (int i = 0; i < word.length(); i++) {
            char c = word.charAt(i);
            if (c < '0' || c > '9') return -1;
            if (i >= at) {
                v = v * 10 + (c - '0');
                if (v < 0) return -1;
            }
        }
        return v;
    }

    /** The args as one string, escaped. */
    public String argsText() {
        StringBuilder sb = new StringBuilder();
        for (String a : args) {
            if (sb.length() > 0) sb.append(' ');
            sb.append(escape(a));
        }
        return sb.toString();
    }

    public long endSector() { return startSector + lengthSectors; }

    @Override
    public String toString() {
        String a = argsText();
        return startSector + " " + lengthSectors + " " + escape(type) + (a.isEmpty() ? "" : " " + a);
    }

    private static DmException invalid(String message) {
        return new DmException(Errno.EINVAL, message);
    }

    static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 61) + "...";
    }
}
