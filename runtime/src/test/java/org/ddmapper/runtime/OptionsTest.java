package org.ddmapper.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptionsTest {

    private static final Path DIST = Path.of("/opt/ddmapper");
    private static final Path CWD = Path.of("/work");

    private static Options parse(String... args) throws LaunchFailure {
        return Options.parse(List.of(args), DIST, CWD, Map.of());
    }

    private static LaunchFailure usageError(String... args) {
        LaunchFailure failure = assertThrows(LaunchFailure.class, () -> parse(args));
        assertEquals(LaunchFailure.USAGE, failure.exitStatus());
        return failure;
    }

    @Test
    void defaultsPutEverythingUnderTheDistribution() throws LaunchFailure {
        Options options = parse();
        assertEquals(Path.of("/opt/ddmapper/var"), options.home());
        assertEquals(Path.of("/opt/ddmapper/etc"), options.etc());
        assertEquals("127.0.0.1:10809", options.nbd());
        assertEquals("", options.nbdSocket());
        assertEquals(Path.of("/opt/ddmapper/var/run/control.sock"), options.controlSocket());
        assertTrue(options.console());
        assertEquals(List.of(), options.exec());
    }

    @Test
    void homeMovesTheControlSocketAndResolvesAgainstTheWorkingDirectory() throws LaunchFailure {
        Options options = parse("--home", "state/x", "--no-console");
        assertEquals(Path.of("/work/state/x"), options.home());
        assertEquals(Path.of("/work/state/x/run/control.sock"), options.controlSocket());
        assertFalse(options.console());
    }

    @Test
    void environmentHomeIsTheDefaultAndTheOptionWins() throws LaunchFailure {
        Map<String, String> env = Map.of("DDMAPPER_HOME", "/srv/dd");
        assertEquals(Path.of("/srv/dd"), Options.parse(List.of(), DIST, CWD, env).home());
        assertEquals(Path.of("/tmp/h"), Options.parse(List.of("--home", "/tmp/h"), DIST, CWD, env).home());
    }

    @Test
    void everyOptionTakesItsValueInlineOrAfterAndTheLastOneWins() throws LaunchFailure {
        Options options = parse("--nbd=0.0.0.0:1", "--nbd", "[::1]:0", "--nbd-socket", "/tmp/n.sock",
                "--socket=/tmp/c.sock", "--etc", "/etc/dd", "--exec", "lb", "--exec=echo hi");
        assertEquals("[::1]:0", options.nbd());
        assertEquals("/tmp/n.sock", options.nbdSocket());
        assertEquals(Path.of("/tmp/c.sock"), options.controlSocket());
        assertEquals(Path.of("/etc/dd"), options.etc());
        assertEquals(List.of("lb", "echo hi"), options.exec());
    }

    @Test
    void nbdNoneAndHostnamesAreAccepted() throws LaunchFailure {
        assertEquals("none", parse("--nbd", "none").nbd());
        assertEquals("localhost:65535", parse("--nbd", "localhost:65535").nbd());
    }

    @Test
    void badNbdAddressesNameTheValue() {
        for (String bad : List.of("10809", "host:", ":10809", "host:65536", "host:12x", "a b:1", "[::1:1")) {
            assertEquals("--nbd: expected HOST:PORT with a port from 0 to 65535, or 'none'; got '" + bad + "'",
                    usageError("--nbd", bad).getMessage(), bad);
        }
    }

    @Test
    void unknownOptionsMissingAndUnwantedValuesAreUsageErrors() {
        assertEquals("unknown option '--bogus' (see --help)", usageError("--bogus").getMessage());
        assertEquals("unknown option 'extra' (see --help)", usageError("extra").getMessage());
        assertEquals("--home needs a value (see --help)", usageError("--home").getMessage());
        assertEquals("--socket needs a non-empty value", usageError("--socket=").getMessage());
        assertEquals("--no-console takes no value", usageError("--no-console=yes").getMessage());
    }

    @Test
    void aSocketPathTooLongForSunPathIsRefusedWithItsLength() {
        String home = "/tmp/" + "h".repeat(90);
        LaunchFailure failure = usageError("--home", home);
        assertEquals("--socket: " + home + "/run/control.sock is 112 bytes long; a Unix socket path may be at most 107"
                + " (choose a shorter --home or --socket)", failure.getMessage());
    }

    @Test
    void helpIsRecognised() throws LaunchFailure {
        assertTrue(parse("--help").help());
        assertTrue(parse("-h").help());
        assertFalse(parse().help());
    }

    @Test
    void httpDefaultsToLoopback8080AndTakesHostPortOrNone() throws LaunchFailure {
        assertEquals("127.0.0.1:8080", parse().http());
        Options o = parse("--http", "[::1]:0");
        assertEquals("[::1]:0", o.http());
        assertEquals("::1", Options.host(o.http()));
        assertEquals("0", Options.port(o.http()));
        assertEquals("none", parse("--http=none").http());
        LaunchFailure bad = assertThrows(LaunchFailure.class, () -> parse("--http", "8080"));
        assertTrue(bad.getMessage().contains("--http: expected HOST:PORT with a port from 0 to 65535, or 'none'; got '8080'"), bad.getMessage());
    }
}
