package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every C function the project binds through JNA (a {@code static native} method in a source
 * file that uses JNA, in any module, main or test) is exported by glibc 2.28 or older. A direct
 * mapping binds all of a class's methods at once, so one newer symbol (such as {@code fstat},
 * exported only since 2.33) makes the whole class fail to load on RHEL 8, Debian 11 or Ubuntu 20.04.
 * The symbol versions come from {@code objdump -T} of the C library this JVM runs on.
 */
@Timeout(60)
class GlibcSymbolsTest {
    /** The oldest glibc the bundles support (README, "Requirements"). */
    private static final int[] OLDEST = {2, 28};
    private static final Pattern NATIVE = Pattern.compile("\\bstatic\\s+native\\s+[\\w.<>\\[\\]]+\\s+(\\w+)\\s*\\(");
    private static final Pattern VERSIONED = Pattern.compile("\\s\\(?GLIBC_(\\d+)\\.(\\d+)(?:\\.\\d+)?\\)?\\s+(\\S+)\\s*$");

    @Test
    void everyBoundCFunctionIsExportedByGlibc228() throws Exception {
        Map<String, List<Path>> bound = boundFunctions(repoRoot());
        assertTrue(bound.containsKey("sendmsg") && bound.containsKey("writev"), "the scan finds control's and nbd's bindings: " + bound.keySet());
        Map<String, int[]> oldest = oldestVersions(libc());
        Map<String, String> tooNew = new TreeMap<>();
        for (Map.Entry<String, List<Path>> e : bound.entrySet()) {
            int[] v = oldest.get(e.getKey());
            if (v == null) tooNew.put(e.getKey(), "not exported at all (" + e.getValue() + ")");
            else if (v[0] > OLDEST[0] || (v[0] == OLDEST[0] && v[1] > OLDEST[1]))
                tooNew.put(e.getKey(), "exported since GLIBC_" + v[0] + "." + v[1] + " (" + e.getValue() + ")");
        }
        assertEquals(Map.of(), tooNew, "C functions bound through JNA that glibc 2.28 lacks");
    }

    @Test
    void theCheckSeesANewSymbolAsNew() throws Exception {
        Map<String, int[]> oldest = oldestVersions(libc());
        int[] fstat = oldest.get("fstat");
        // glibc 2.33 and later export fstat (GLIBC_2.33); older ones do not export it at all
        if (fstat != null) assertEquals(List.of(2, 33), List.of(fstat[0], fstat[1]));
        assertEquals(List.of(2, 2), List.of(oldest.get("socket")[0], oldest.get("socket")[1]));
    }

    /** Function name -> the files that bind it. */
    private static Map<String, List<Path>> boundFunctions(Path root) throws IOException {
        Map<String, List<Path>> out = new TreeMap<>();
        List<Path> files;
        try (Stream<Path> s = Stream.concat(Files.walk(root.resolve("bundles")), Files.walk(root.resolve("tests").resolve("src")))) {
            files = s.filter(p -> p.toString().endsWith(".java") && !p.toString().contains("/target/")).toList();
        }
        for (Path f : files) {
            String text = Files.readString(f);
            if (!text.contains("com.sun.jna")) continue;
            Matcher m = NATIVE.matcher(text);
            while (m.find()) out.computeIfAbsent(m.group(1), k -> new java.util.ArrayList<>()).add(root.relativize(f));
        }
        assertFalse(out.isEmpty(), "no JNA bindings found under " + root);
        return out;
    }

    /** Each dynamic symbol of the library with the oldest GLIBC_x.y version it is exported under. */
    private static Map<String, int[]> oldestVersions(Path lib) throws Exception {
        ControlHarness.Result r = ControlHarness.run(List.of("objdump", "-T", lib.toString()), null, 30);
        assertEquals(0, r.exit(), "objdump -T (binutils) is needed: " + r.stderr());
        Map<String, int[]> out = new TreeMap<>();
        for (String line : r.stdout().split("\n")) {
            Matcher m = VERSIONED.matcher(line);
            if (!m.find() || !line.contains(" DF ")) continue;
            int[] v = {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
            out.merge(m.group(3), v, (a, b) -> a[0] < b[0] || (a[0] == b[0] && a[1] <= b[1]) ? a : b);
        }
        return out;
    }

    /** The C library this JVM has mapped (the one JNA binds against). */
    private static Path libc() throws IOException {
        TreeSet<String> found = new TreeSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash > 0 && line.substring(slash).matches(".*/libc(\\.so\\.6|-2\\.\\d+\\.so)$")) found.add(line.substring(slash));
        }
        assertFalse(found.isEmpty(), "no libc.so.6 mapped in this JVM");
        return Path.of(found.first());
    }

    private static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent())
            if (Files.isDirectory(p.resolve("bundles").resolve("control"))) return p;
        throw new IllegalStateException("the repository root (with bundles/control) was not found above " + Path.of("").toAbsolutePath());
    }
}
