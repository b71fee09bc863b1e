package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad configuration stops the boot with one line on stderr naming the file and line (or the option,
 * or the port) and a non-zero status; a bad boot table is reported and skipped.
 */
@Timeout(180)
class BadConfigurationTest {

    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(90);

    @TempDir
    Path dir;
    Path etc;
    Path home;

    @BeforeEach
    void copyTheShippedEtc() throws IOException {
        etc = dir.resolve("etc");
        home = dir.resolve("home");
        Path shipped = Appliance.distribution().resolve("etc");
        try (Stream<Path> files = Files.walk(shipped)) {
            for (Path source : files.sorted(Comparator.naturalOrder()).toList()) {
                Files.copy(source, etc.resolve(shipped.relativize(source).toString()));
            }
        }
    }

    private Appliance.Exit boot(String... extraArgs) throws Exception {
        String[] args = Stream.concat(Stream.of("--etc", etc.toString()), Stream.of(extraArgs)).toArray(String[]::new);
        return Appliance.run(home, EXIT_TIMEOUT, args);
    }

    @Test
    void aConfigLineWithoutEqualsNamesFileAndLine() throws Exception {
        int line = Files.readAllLines(etc.resolve("config.properties")).size() + 1;
        Files.writeString(etc.resolve("config.properties"), "felix.log.level 1\n", StandardOpenOption.APPEND);
        Appliance.Exit exit = boot();
        assertEquals(78, exit.code(), exit.toString());
        assertEquals("ddmapper: " + etc.resolve("config.properties") + ":" + line
                + ": expected KEY = VALUE, got 'felix.log.level 1'\n", exit.stderr());
        assertEquals("", exit.stdout());
        assertFalse(Files.exists(home.resolve("cache/felix")), "no framework was started");
    }

    @Test
    void anUnknownVariableNamesFileAndLine() throws Exception {
        Files.writeString(etc.resolve("config.properties"), "a = 1\nb = ${ddmapper.hom}/x\n");
        Appliance.Exit exit = boot();
        assertEquals(78, exit.code(), exit.toString());
        assertEquals("ddmapper: " + etc.resolve("config.properties") + ":2: unknown variable ${ddmapper.hom}\n",
                exit.stderr());
    }

    @Test
    void anUnreadableLogConfigurationNamesTheFile() throws Exception {
        Path tinylog = etc.resolve("tinylog.properties");
        Files.delete(tinylog);
        Files.createDirectory(tinylog); // root reads any file; a directory cannot be read by anyone
        Appliance.Exit exit = boot();
        assertEquals(78, exit.code(), exit.toString());
        assertEquals("ddmapper: " + tinylog + ": cannot read: is a directory\n", exit.stderr());
    }

    @Test
    void aMissingConfigurationNamesTheFile() throws Exception {
        Files.delete(etc.resolve("config.properties"));
        Appliance.Exit exit = boot();
        assertEquals(78, exit.code(), exit.toString());
        assertEquals("ddmapper: " + etc.resolve("config.properties") + ": cannot read: no such file or directory\n",
                exit.stderr());
    }

    @Test
    void aBadTimeoutValueNamesFileAndLine() throws Exception {
        Files.writeString(etc.resolve("config.properties"), "\nddmapper.ready.timeout.seconds = soon\n");
        Appliance.Exit exit = boot();
        assertEquals(78, exit.code(), exit.toString());
        assertEquals("ddmapper: " + etc.resolve("config.properties")
                + ":2: ddmapper.ready.timeout.seconds: expected a positive number of seconds, got 'soon'\n", exit.stderr());
    }

    /**
     * The launcher as a user who cannot read everything: as root (CI), bin/ddmapper runs without the
     * capabilities that let root read any file, so that mode 000 means unreadable for it too.
     */
    private Appliance.Exit bootUnprivileged() throws Exception {
        Appliance.Builder builder = Appliance.builder().home(home).args("--etc", etc.toString());
        if (System.getProperty("user.name").equals("root")) {
            builder.wrapper("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--");
        }
        return builder.run(EXIT_TIMEOUT);
    }

    @Test
    void anUnreadableFileOfEtcStopsTheBootNamingIt() throws Exception {
        Path multipath = etc.resolve("multipath.conf");
        Files.setPosixFilePermissions(multipath, PosixFilePermissions.fromString("---------"));
        Appliance.Exit exit = bootUnprivileged();
        assertEquals(78, exit.code(), exit.toString());
        assertEquals("ddmapper: " + multipath + ": cannot read: permission denied\n", exit.stderr());
        assertEquals("", exit.stdout());
        assertFalse(Files.exists(home.resolve("cache/felix")), "no framework was started");
    }

    @Test
    void anUnreadableBootTableStopsTheBootNamingIt() throws Exception {
        Path table = etc.resolve("tables/zeros.table");
        Files.writeString(table, "0 2048 zero\n");
        Files.setPosixFilePermissions(table, PosixFilePermissions.fromString("-w-------"));
        Appliance.Exit exit = bootUnprivileged();
        assertEquals(78, exit.code(), exit.toString());
        assertEquals("ddmapper: " + table + ": cannot read: permission denied\n", exit.stderr());
    }

    @Test
    void anUnknownMultipathOptionNamesFileAndLine() throws Exception {
        Path multipath = etc.resolve("multipath.conf");
        Files.writeString(multipath, "defaults {\n    polling_interval 5\n    polling_intervall 7\n}\n");
        Appliance.Exit exit = boot();
        assertEquals(78, exit.code(), exit.toString());
        assertEquals("ddmapper: " + multipath + ":3: unknown option 'polling_intervall' in defaults\n", exit.stderr());
        assertEquals("", exit.stdout());
    }

    @Test
    void aMultipathSyntaxErrorNamesTheFileAndTheFirstProblem() throws Exception {
        Path multipath = etc.resolve("multipath.conf");
        Files.writeString(multipath, "defaults {\n    failback sometimes\n    polling_interval 5\n");
        Appliance.Exit exit = boot();
        assertEquals(78, exit.code(), exit.toString());
        List<String> lines = exit.stderr().lines().toList();
        assertEquals(1, lines.size(), exit.stderr());
        assertTrue(lines.get(0).startsWith("ddmapper: " + multipath + ":2: "), exit.stderr());
        assertTrue(lines.get(0).endsWith(" (and 1 more)"), "the unclosed section is counted: " + exit.stderr());
    }

    @Test
    void aBadOptionIsAUsageError() throws Exception {
        Appliance.Exit exit = boot("--nbd", "127.0.0.1:http");
        assertEquals(64, exit.code(), exit.toString());
        assertEquals("ddmapper: --nbd: expected HOST:PORT with a port from 0 to 65535, or 'none'; got '127.0.0.1:http'\n",
                exit.stderr());
    }

    @Test
    void aPortInUseNamesThePortAndFails() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String address = "127.0.0.1:" + taken.getLocalPort();
            Appliance.Exit exit = boot("--nbd", address);
            assertEquals(1, exit.code(), exit.toString());
            // the nbd bundle logs its error too; the launcher's own line comes once, last, naming the port
            List<String> lines = exit.stderr().lines().toList();
            String last = lines.get(lines.size() - 1);
            assertTrue(last.startsWith("ddmapper: nbd endpoint failed: ") && last.contains(address), exit.stderr());
            assertEquals(1, lines.stream().filter(l -> l.startsWith("ddmapper: nbd endpoint failed: ")).count(),
                    exit.stderr());
            assertEquals("", exit.stdout(), "no ready line");
            assertTrue(taken.isBound(), "the port's owner is undisturbed");
        }
    }

    @Test
    void aBadBootTableIsReportedAndSkippedAndTheOthersComeUp() throws Exception {
        Files.writeString(etc.resolve("tables/broken.table"), "0 100x zero\n"); // a length that is not a number
        Files.writeString(etc.resolve("tables/zeros.table"), "0 2048 zero\n");
        try (Appliance appliance = Appliance.start(home, "--etc", etc.toString())) {
            // boot tables are loaded by the core as their target types arrive: poll (bounded) with ddsetup ls
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            Appliance.Exit ls = appliance.ddsetup("ls");
            while (!(ls.stdout().contains("zeros") && ls.stdout().contains("demo")) && System.nanoTime() < deadline) {
                Thread.sleep(200);
                ls = appliance.ddsetup("ls");
            }
            assertEquals(0, ls.code(), ls.toString());
            assertTrue(ls.stdout().contains("zeros") && ls.stdout().contains("demo"), "the others came up: " + ls);
            assertFalse(ls.stdout().contains("broken"), ls.toString());
            // reported once on stderr (and in the log) with the file's name and the reason
            String broken = etc.resolve("tables/broken.table").toString();
            List<String> naming = appliance.errors().lines().filter(l -> l.contains(broken)).toList();
            assertEquals(1, naming.size(), "one line names the bad table:\n" + appliance.errors());
            assertTrue(naming.get(0).endsWith(broken + ": line 1: invalid length '100x'"), naming.get(0));
            assertTrue(Files.readString(appliance.log()).contains(broken + ": line 1: invalid length '100x'"));
            assertTrue(appliance.isAlive());
            appliance.stop();
        }
    }

    @Test
    void aBootTableThatDiffersFromTheSavedDeviceIsNamedOnceAndTheSavedTableKept() throws Exception {
        try (Appliance first = Appliance.start(home, "--etc", etc.toString())) {
            first.stop();
        }
        try (Appliance same = Appliance.start(home, "--etc", etc.toString())) {
            assertFalse(same.errors().contains("differs"), "an unchanged boot table is quiet:\n" + same.errors());
            same.stop();
        }
        Path demo = etc.resolve("tables/demo.table");
        Files.writeString(demo, Files.readString(demo).replace(" 131072 ", " 65536 "));
        try (Appliance edited = Appliance.start(home, "--etc", etc.toString())) {
            List<String> naming = edited.errors().lines().filter(l -> l.contains(demo.toString())).toList();
            assertEquals(1, naming.size(), edited.errors());
            assertTrue(naming.get(0).contains(demo + ": differs from the saved live table of device 'demo', which is kept"),
                    naming.get(0));
            Appliance.Exit table = edited.ddsetup("table", "demo");
            assertTrue(table.stdout().startsWith("0 131072 linear "), "the saved table serves: " + table);
            edited.stop();
        }
    }

    @Test
    void theReadyLineComesAfterTheBootDevicesServeOrWereGivenUp() throws Exception {
        Files.writeString(etc.resolve("config.properties"), "ddmapper.core.typeWaitMillis = 1500\n", StandardOpenOption.APPEND);
        Files.writeString(etc.resolve("tables/notype.table"), "0 10 nosuchtype\n"); // waits 1.5 s, then is dropped
        try (Appliance appliance = Appliance.start(home, "--etc", etc.toString())) {
            // no polling: the ready line promises it
            Appliance.Exit ls = appliance.ddsetup("ls");
            assertEquals(0, ls.code(), ls.toString());
            assertTrue(ls.stdout().contains("demo"), ls.toString());
            assertFalse(ls.stdout().contains("notype"), "given up before the ready line: " + ls);
            Appliance.Exit table = appliance.ddsetup("table", "demo");
            assertEquals(0, table.code(), table.toString());
            assertTrue(table.stdout().startsWith("0 131072 linear "), "the demo serves its table: " + table);
            assertTrue(Files.readString(appliance.log()).contains("unknown target type 'nosuchtype'"));
            appliance.stop();
        }
    }
}
