package org.ddmapper.it.control;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * One case of the dmsetup compatibility suite (tests/kernel/dmsetup-compat): its lines, and what
 * the kernel answered to each as record.sh took it down. A line is a dmsetup command line (shell
 * words: quotes, backslashes, {@code $VAR}, an unquoted {@code #} starting a comment) or a
 * directive ({@code !read NAME}, {@code !read& NAME}, {@code !wait}, {@code !open NAME},
 * {@code !close}, {@code !sleep SECS}).
 */
record CompatCase(String name, String description, List<Step> steps) {

    /** One line of the case and the kernel's answer. */
    record Step(String line, String stdout, String stderr, int status) {
        /** The words of a dmsetup line after "dmsetup", variables expanded; the comment (or "") after. */
        List<String> dmsetupArgs(UnaryOperator<String> variables) {
            List<String> words = words(line, variables);
            return words.subList(1, words.size());
        }

        boolean isDirective() { return line.startsWith("!"); }

        /** The word after {@code #} on the line, as a marker ({@code shared-types}), or "". */
        String marker() {
            int hash = line.lastIndexOf("  #");
            return hash < 0 ? "" : line.substring(hash + 3).trim();
        }
    }

    /** Reads CASE.case and its recorded expected/CASE.out. */
    static CompatCase read(Path dir, String name) throws IOException {
        List<String> caseLines = Files.readAllLines(dir.resolve("cases").resolve(name + ".case"), StandardCharsets.UTF_8);
        List<String> out = Files.readAllLines(dir.resolve("expected").resolve(name + ".out"), StandardCharsets.UTF_8);
        String description = caseLines.isEmpty() ? "" : caseLines.get(0).replaceFirst("^# ", "");
        List<Step> steps = new ArrayList<>();
        int i = 0;
        while (i < out.size() && out.get(i).startsWith("# ")) i++;
        while (i < out.size()) {
            String header = out.get(i++);
            if (!header.startsWith("$ ")) throw new IOException(name + ".out: expected '$ LINE', got '" + header + "'");
            StringBuilder stdout = new StringBuilder();
            StringBuilder stderr = new StringBuilder();
            while (i < out.size() && !out.get(i).startsWith("? ")) {
                String l = out.get(i++);
                if (l.startsWith("|")) stdout.append(l, 1, l.length()).append('\n');
                else if (l.startsWith("! ")) stderr.append(l, 2, l.length()).append('\n');
                else if (l.equals("\\ no newline at end of output")) stdout.setLength(stdout.length() - 1);
                else throw new IOException(name + ".out: unexpected line '" + l + "'");
            }
            if (i >= out.size()) throw new IOException(name + ".out: '" + header + "' has no '? STATUS'");
            steps.add(new Step(header.substring(2), stdout.toString(), stderr.toString(), Integer.parseInt(out.get(i++).substring(2))));
        }
        List<String> lines = caseLines.stream().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        List<String> recorded = steps.stream().map(Step::line).toList();
        if (!lines.equals(recorded)) throw new IOException(name + ": the case changed since it was recorded; run tests/kernel/dmsetup-compat/record.sh " + name);
        return new CompatCase(name, description, steps);
    }

    /** Splits a line into shell words: '...', "..." (with $VAR and \ escapes), \x, $VAR / ${VAR}; an unquoted # at a word's start ends the line. */
    static List<String> words(String line, UnaryOperator<String> variables) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean inWord = false;
        int i = 0;
        while (i < line.length()) {
            char c = line.charAt(i);
            if (Character.isWhitespace(c)) {
                if (inWord) words.add(w.toString());
                w.setLength(0);
                inWord = false;
                i++;
            } else if (c == '#' && !inWord) {
                break;
            } else if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                if (end < 0) throw new IllegalArgumentException("unterminated ' in: " + line);
                w.append(line, i + 1, end);
                inWord = true;
                i = end + 1;
            } else if (c == '"') {
                i++;
                while (i < line.length() && line.charAt(i) != '"') {
                    char d = line.charAt(i);
                    if (d == '\\' && i + 1 < line.length() && "\"\\$`".indexOf(line.charAt(i + 1)) >= 0) {
                        w.append(line.charAt(i + 1));
                        i += 2;
                    } else if (d == '$') {
                        i = variable(line, i, w, variables);
                    } else {
                        w.append(d);
                        i++;
                    }
                }
                if (i >= line.length()) throw new IllegalArgumentException("unterminated \" in: " + line);
                inWord = true;
                i++;
            } else if (c == '\\' && i + 1 < line.length()) {
                w.append(line.charAt(i + 1));
                inWord = true;
                i += 2;
            } else if (c == '$') {
                i = variable(line, i, w, variables);
                inWord = true;
            } else {
                w.append(c);
                inWord = true;
                i++;
            }
        }
        if (inWord) words.add(w.toString());
        return words;
    }

    /** Expands $NAME or ${NAME} at line[i]; returns the index after it. */
    private static int variable(String line, int i, StringBuilder w, UnaryOperator<String> variables) {
        int start = i + 1;
        boolean braced = start < line.length() && line.charAt(start) == '{';
        int from = braced ? start + 1 : start;
        int end = from;
        while (end < line.length() && (Character.isLetterOrDigit(line.charAt(end)) || line.charAt(end) == '_')) end++;
        if (end == from) {
            w.append('$');
            return start;
        }
        String value = variables.apply(line.substring(from, end));
        if (value == null) throw new IllegalArgumentException("unknown variable $" + line.substring(from, end) + " in: " + line);
        w.append(value);
        if (braced) {
            if (end >= line.length() || line.charAt(end) != '}') throw new IllegalArgumentException("unterminated ${ in: " + line);
            end++;
        }
        return end;
    }
}
