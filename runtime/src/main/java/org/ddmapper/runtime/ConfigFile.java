package org.ddmapper.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A configuration file of {@code KEY = VALUE} lines (etc/config.properties, etc/tinylog.properties),
 * read strictly: {@link java.util.Properties} accepts almost any text, so a typo would silently become
 * a strange key. Here every line is a comment ({@code #} or {@code !}), blank, or {@code KEY = VALUE};
 * a trailing backslash continues a line; a key appears once. Every error names {@code FILE:LINE}.
 * Values are kept as written (no escapes); {@link #expand} substitutes {@code ${name}}.
 */
final class ConfigFile {

    /** One setting and the line it starts on. */
    record Entry(String key, String value, int line) {
    }

    private static final int MAX_QUOTED_CHARS = 60;

    private final Path file;
    private final List<Entry> entries;

    private ConfigFile(Path file, List<Entry> entries) {
        this.file = file;
        this.entries = entries;
    }

    Path file() {
        return file;
    }

    List<Entry> entries() {
        return entries;
    }

    static ConfigFile read(Path file) throws LaunchFailure {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw LaunchFailure.config(file + ": cannot read: " + Describe.io(e));
        }
        return parse(file, bytes);
    }

    static ConfigFile parse(Path file, byte[] bytes) throws LaunchFailure {
        List<String> lines = decodeLines(file, bytes);
        List<Entry> entries = new ArrayList<>();
        Map<String, Integer> seen = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            int lineNumber = i + 1;
            StringBuilder logical = new StringBuilder(lines.get(i).stripLeading());
            if (logical.length() == 0 || logical.charAt(0) == '#' || logical.charAt(0) == '!') {
                continue;
            }
            while (endsWithContinuation(logical)) {
                logical.setLength(logical.length() - 1);
                if (++i >= lines.size()) {
                    throw error(file, lineNumber, "the line continues ('\\' at its end) past the end of the file");
                }
                logical.append(lines.get(i).stripLeading());
            }
            String line = logical.toString();
            int equals = line.indexOf('=');
            if (equals < 0) {
                throw error(file, lineNumber, "expected KEY = VALUE, got '" + quote(line) + "'");
            }
            String key = line.substring(0, equals).strip();
            if (key.isEmpty()) {
                throw error(file, lineNumber, "no key before '='");
            }
            if (key.chars().anyMatch(Character::isWhitespace)) {
                throw error(file, lineNumber, "key '" + quote(key) + "' contains a space");
            }
            if (key.charAt(0) == '#' || key.charAt(0) == '!') {
                // only reachable through a continued line ("\" then "#x = 1"): surely a slip
                throw error(file, lineNumber, "key '" + quote(key) + "' starts with a comment character");
            }
            Integer earlier = seen.putIfAbsent(key, lineNumber);
            if (earlier != null) {
                throw error(file, lineNumber, "'" + quote(key) + "' is already set on line " + earlier);
            }
            entries.add(new Entry(key, line.substring(equals + 1).strip(), lineNumber));
        }
        return new ConfigFile(file, List.copyOf(entries));
    }

    /**
     * The settings in file order with {@code ${name}} replaced by an earlier setting of this file or by
     * one of {@code variables}; an unknown name is an error naming the line.
     */
    Map<String, String> expand(Map<String, String> variables) throws LaunchFailure {
        Map<String, String> result = new LinkedHashMap<>();
        for (Entry entry : entries) {
            String value = entry.value();
            StringBuilder out = new StringBuilder();
            int from = 0;
            for (int open = value.indexOf("${"); open >= 0; open = value.indexOf("${", from)) {
                int close = value.indexOf('}', open);
                if (close < 0) {
                    throw error(file, entry.line(), "'${' without a closing '}'");
                }
                String name = value.substring(open + 2, close);
                String replacement = result.containsKey(name) ? result.get(name) : variables.get(name);
                if (replacement == null) {
                    throw error(file, entry.line(), "unknown variable ${" + quote(name) + "}");
                }
                out.append(value, from, open).append(replacement);
                from = close + 1;
            }
            out.append(value.substring(from));
            result.put(entry.key(), out.toString());
        }
        return result;
    }

    private static List<String> decodeLines(Path file, byte[] bytes) throws LaunchFailure {
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        List<String> lines = new ArrayList<>();
        int start = 0;
        while (start < bytes.length) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') {
                end++;
            }
            try {
                String line = utf8.decode(ByteBuffer.wrap(bytes, start, end - start)).toString();
                lines.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
            } catch (CharacterCodingException e) {
                throw error(file, lines.size() + 1, "not UTF-8 text");
            }
            start = end + 1;
        }
        return lines;
    }

    /** An odd number of trailing backslashes: the last one continues the line. */
    private static boolean endsWithContinuation(CharSequence line) {
        int backslashes = 0;
        for (int i = line.length() - 1; i >= 0 && line.charAt(i) == '\\'; i--) {
            backslashes++;
        }
        return backslashes % 2 == 1;
    }

    /** Text from the file for an error line: shortened, control characters shown as {@code \xNN} (a CR must not rewind the terminal). */
    private static String quote(String text) {
        String shown = text.length() <= MAX_QUOTED_CHARS ? text : text.substring(0, MAX_QUOTED_CHARS) + "…";
        StringBuilder sb = new StringBuilder(shown.length());
        for (char c : shown.toCharArray()) {
            if (Character.isISOControl(c) && c != '\t') sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }

    private static LaunchFailure error(Path file, int line, String what) {
        return LaunchFailure.config(file + ":" + line + ": " + what);
    }
}
