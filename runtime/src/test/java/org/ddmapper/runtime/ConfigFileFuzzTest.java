package org.ddmapper.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes the etc/ properties files ({@link ConfigFile}: config.properties, tinylog.properties). A
 * refusal is a configuration failure (exit 78) whose one line starts with {@code FILE:LINE: }; an
 * accepted file has unique keys without spaces, and its settings written back as {@code KEY = VALUE}
 * lines read the same. Expansion of {@code ${name}} either fails naming the line or leaves no
 * variable of the file unexpanded.
 */
class ConfigFileFuzzTest {
    private static final Path FILE = Path.of("/etc/fuzz.properties");

    @FuzzTest
    void properties(byte[] input) throws LaunchFailure {
        ConfigFile config;
        try {
            config = ConfigFile.parse(FILE, input);
        } catch (LaunchFailure e) {
            assertRefusal(e);
            return;
        }
        StringBuilder written = new StringBuilder();
        for (ConfigFile.Entry e : config.entries()) {
            assertFalse(e.key().isEmpty() || e.key().chars().anyMatch(Character::isWhitespace), () -> "key '" + e.key() + "'");
            // a value ending in an odd run of backslashes was written with a space after it (else it continues)
            String tail = (e.value().length() - e.value().replaceAll("\\\\+$", "").length()) % 2 == 1 ? " " : "";
            written.append(e.key()).append(" = ").append(e.value()).append(tail).append('\n');
        }
        List<String> keys = config.entries().stream().map(ConfigFile.Entry::key).toList();
        assertEquals(keys.size(), keys.stream().distinct().count(), () -> "keys " + keys);
        ConfigFile again = ConfigFile.parse(FILE, written.toString().getBytes(StandardCharsets.UTF_8));
        assertEquals(values(config), values(again), () -> "read back from\n" + written);
        try {
            Map<String, String> expanded = config.expand(Map.of("ddmapper.home", "/var/lib/ddmapper"));
            assertEquals(keys, List.copyOf(expanded.keySet()));
        } catch (LaunchFailure e) {
            assertRefusal(e);
        }
    }

    private static List<String> values(ConfigFile c) {
        return c.entries().stream().map(e -> e.key() + "=" + e.value()).toList();
    }

    private static void assertRefusal(LaunchFailure e) {
        assertEquals(LaunchFailure.CONFIG, e.exitStatus());
        assertTrue(e.getMessage().matches("\\Q" + FILE + "\\E:[1-9][0-9]*: [^\\n\\r]+"), () -> "refusal '" + e.getMessage() + "'");
    }
}
