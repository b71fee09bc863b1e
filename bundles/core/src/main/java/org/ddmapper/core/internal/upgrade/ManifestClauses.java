package org.ddmapper.core.internal.upgrade;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An OSGi manifest header such as Import-Package split into clauses:
 * {@code path;path;attr=value;directive:=value, ...}, with quoted values (which may hold commas
 * and semicolons) unquoted.
 */
record ManifestClauses(List<Clause> clauses) {

    /** One clause: its paths (package names), attributes and directives. */
    record Clause(List<String> paths, Map<String, String> attributes, Map<String, String> directives) { }

    static ManifestClauses parse(String header) {
        List<Clause> out = new ArrayList<>();
        if (header == null || header.isBlank()) return new ManifestClauses(out);
        for (String clause : split(header, ',')) {
            if (clause.isBlank()) continue;
            List<String> paths = new ArrayList<>();
            Map<String, String> attributes = new LinkedHashMap<>();
            Map<String, String> directives = new LinkedHashMap<>();
            for (String part : split(clause, ';')) {
                String p = part.strip();
                int directive = p.indexOf(":=");
                int eq = p.indexOf('=');
                if (directive > 0 && directive < eq) directives.put(p.substring(0, directive).strip(), unquote(p.substring(directive + 2)));
                else if (eq > 0) attributes.put(p.substring(0, eq).strip(), unquote(p.substring(eq + 1)));
                else if (!p.isEmpty()) paths.add(p);
            }
            out.add(new Clause(paths, attributes, directives));
        }
        return new ManifestClauses(out);
    }

    /** Splits at {@code separator} outside double quotes. */
    private static List<String> split(String text, char separator) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (char c : text.toCharArray()) {
            if (c == '"') quoted = !quoted;
            if (c == separator && !quoted) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    private static String unquote(String value) {
        String v = value.strip();
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }
}
