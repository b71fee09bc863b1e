package org.ddmapper.runtime;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigFileTest {

    private static final Path FILE = Path.of("/etc/dd/config.properties");

    private static ConfigFile parse(String text) throws LaunchFailure {
        return ConfigFile.parse(FILE, text.getBytes(UTF_8));
    }

    private static String error(String text) {
        LaunchFailure failure = assertThrows(LaunchFailure.class, () -> parse(text).expand(Map.of("home", "/h")));
        assertEquals(LaunchFailure.CONFIG, failure.exitStatus());
        return failure.getMessage();
    }

    @Test
    void readsKeysValuesCommentsAndContinuations() throws LaunchFailure {
        ConfigFile file = parse("""
                # a comment
                ! another

                  a.key = some value \t
                b=2
                long = one, \\
                       two
                path = c:\\\\dir
                empty =
                """);
        assertEquals(List.of(
                new ConfigFile.Entry("a.key", "some value", 4),
                new ConfigFile.Entry("b", "2", 5),
                new ConfigFile.Entry("long", "one, two", 6),
                new ConfigFile.Entry("path", "c:\\\\dir", 8),
                new ConfigFile.Entry("empty", "", 9)), file.entries());
    }

    @Test
    void crlfLineEndsAreAccepted() throws LaunchFailure {
        assertEquals(List.of(new ConfigFile.Entry("a", "1", 1), new ConfigFile.Entry("b", "2", 2)),
                parse("a = 1\r\nb = 2\r\n").entries());
    }

    @Test
    void expandsVariablesAndEarlierKeys() throws LaunchFailure {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("cache", "/h/cache");
        expected.put("felix", "/h/cache/felix and /h/cache");
        expected.put("plain", "a $ b { c }");
        assertEquals(expected, parse("cache = ${home}/cache\nfelix = ${cache}/felix and ${cache}\nplain = a $ b { c }\n")
                .expand(Map.of("home", "/h")));
    }

    @Test
    void aLineWithoutEqualsNamesFileLineAndText() {
        assertEquals("/etc/dd/config.properties:3: expected KEY = VALUE, got 'this is not a setting'",
                error("a = 1\n\nthis is not a setting\n"));
    }

    @Test
    void controlCharactersOfABadLineAreShownEscaped() {
        assertEquals("/etc/dd/config.properties:1: expected KEY = VALUE, got 'a 2\\x0d\\x00b'", error("a 2\r\u0000b\n"));
    }

    @Test
    void longBadLinesAreShortenedInTheMessage() {
        String message = error("x".repeat(200) + "\n");
        assertEquals("/etc/dd/config.properties:1: expected KEY = VALUE, got '" + "x".repeat(60) + "…'", message);
    }

    @Test
    void keyErrors() {
        assertEquals("/etc/dd/config.properties:1: no key before '='", error(" = value\n"));
        assertEquals("/etc/dd/config.properties:1: key 'two words' contains a space", error("two words = value\n"));
        assertEquals("/etc/dd/config.properties:3: 'a' is already set on line 1", error("a = 1\nb = 2\na = 3\n"));
        assertEquals("/etc/dd/config.properties:1: key '#a' starts with a comment character", error("\\\n#a = 1\n"));
    }

    @Test
    void variableErrorsNameTheLine() {
        assertEquals("/etc/dd/config.properties:2: unknown variable ${nope}", error("a = 1\nb = ${nope}/x\n"));
        assertEquals("/etc/dd/config.properties:1: '${' without a closing '}'", error("a = ${home\n"));
        assertEquals("/etc/dd/config.properties:1: unknown variable ${b}", error("a = ${b}\nb = 1\n"));
    }

    @Test
    void aContinuationPastTheEndIsAnError() {
        assertEquals("/etc/dd/config.properties:2: the line continues ('\\' at its end) past the end of the file",
                error("a = 1\nb = 2 \\"));
    }

    @Test
    void bytesThatAreNotUtf8NameTheLine() {
        LaunchFailure failure = assertThrows(LaunchFailure.class,
                () -> ConfigFile.parse(FILE, new byte[] {'a', '=', '1', '\n', 'b', '=', (byte) 0xff, '\n'}));
        assertEquals("/etc/dd/config.properties:2: not UTF-8 text", failure.getMessage());
    }

    @Test
    void missingAndUnreadableFilesNameTheFile(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.properties");
        assertEquals(missing + ": cannot read: no such file or directory",
                assertThrows(LaunchFailure.class, () -> ConfigFile.read(missing)).getMessage());
        Path directory = Files.createDirectory(dir.resolve("dir.properties"));
        assertEquals(directory + ": cannot read: is a directory",
                assertThrows(LaunchFailure.class, () -> ConfigFile.read(directory)).getMessage());
    }

    @Test
    void theShippedConfigurationParses() throws LaunchFailure {
        Path etc = Path.of(System.getProperty("user.dir")).resolve("../etc");
        Map<String, String> config = ConfigFile.read(etc.resolve("config.properties"))
                .expand(Map.of("ddmapper.home", "/h", "ddmapper.etc", "/e", "ddmapper.dist", "/d"));
        assertEquals("onFirstInit", config.get("org.osgi.framework.storage.clean"));
        assertEquals("rolling file", ConfigFile.read(etc.resolve("tinylog.properties")).entries().stream()
                .filter(e -> e.key().equals("writer2")).findFirst().orElseThrow().value());
    }
}
