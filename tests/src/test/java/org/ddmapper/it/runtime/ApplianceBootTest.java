package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The real bin/ddmapper in a child process: boot, every bundle up, clean stop on SIGTERM, restart. */
@Timeout(180)
class ApplianceBootTest {

    @TempDir
    Path home;

    @Test
    void bootsEveryBundleActiveStopsCleanlyOnSigtermAndBootsAgainOnTheSameHome() throws Exception {
        Map<String, DistributionBundles.Jar> jars = DistributionBundles.read(Appliance.distribution());

        // the web administration too (the harness's default is --http none), with a users file of the
        // operator's in the home, so that no password is generated and printed on stderr
        Files.createDirectories(home.resolve("web"));
        Files.writeString(home.resolve("web/users"),
                "admin:pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
        try (Appliance appliance = Appliance.start(home, "--http", "127.0.0.1:0", "--exec", "lb -s")) {
            String output = appliance.output();
            // the --exec output comes before the ready line, the ready line once
            assertTrue(output.indexOf("START LEVEL") < output.indexOf("ddmapper ready: "), output);
            assertEquals(1, output.split("ddmapper ready: ", -1).length - 1, output);

            Map<String, String> states = DistributionBundles.parseLb(output);
            assertEquals("Active", states.get("org.apache.felix.framework"), output);
            for (DistributionBundles.Jar jar : jars.values()) {
                assertEquals(jar.fragment() ? "Resolved" : "Active", states.get(jar.symbolicName()),
                        jar.file() + " in:\n" + output);
            }
            assertEquals(jars.size() + 1, states.size(), "lb lists bundle/ and the system bundle only:\n" + output);

            assertBothEndpointsAreServed(appliance, jars);
            for (String folder : List.of("state", "run", "log", "cache", "data")) {
                assertTrue(Files.isDirectory(home.resolve(folder)), folder);
            }
            assertEquals(64L << 20, Files.size(home.resolve("data/demo.img")));
            assertTrue(Files.size(appliance.log()) > 0, "tinylog writes HOME/log/ddmapper.log");

            long pid = appliance.pid();
            Appliance.Exit exit = appliance.stop();
            assertEquals(0, exit.code());
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " is gone");
            assertEquals("", exit.stderr(), "a clean boot and stop print nothing on stderr");
        }

        // The home is free again (lock released, bundle cache rebuilt), and the state written stays.
        try (Appliance again = Appliance.start(home)) {
            assertEquals(64L << 20, Files.size(home.resolve("data/demo.img")));
            again.stop();
        }
    }

    @Test
    void theLauncherDefaultsToASmallHeapAndTheSerialCollectorUnlessDdmapperJavaOptsSaysOtherwise() throws Exception {
        try (Appliance defaults = Appliance.builder().javaOpts(null).start()) {
            List<String> jvm = commandLine(defaults.pid());
            assertTrue(jvm.contains("-Xmx256m") && jvm.contains("-Xmn24m") && jvm.contains("-XX:+UseSerialGC"), jvm.toString());
            defaults.stop();
        }
        try (Appliance own = Appliance.builder().javaOpts("-Xmx300m").start()) {
            List<String> jvm = commandLine(own.pid());
            assertTrue(jvm.contains("-Xmx300m"), jvm.toString());
            assertFalse(jvm.contains("-Xmx256m") || jvm.contains("-Xmn24m") || jvm.contains("-XX:+UseSerialGC"), "DDMAPPER_JAVA_OPTS replaces the defaults: " + jvm);
            int export = jvm.indexOf("--add-exports");
            assertTrue(export >= 0 && jvm.get(export + 1).equals("java.base/sun.nio.ch=ALL-UNNAMED"),
                    "the export for corked NBD reply headers stays whatever the options: " + jvm);
            own.stop();
        }
    }

    private static List<String> commandLine(long pid) throws IOException {
        return List.of(Files.readString(Path.of("/proc/" + pid + "/cmdline")).split("\0"));
    }

    @Test
    void withoutNoConsoleAndStdinNotATerminalItKeepsRunningAsAService() throws Exception {
        try (Appliance appliance = Appliance.builder().home(home).noConsole(false).start()) {
            // stdin is /dev/null: at its end Gogo would stop the framework unless it runs headless
            Thread.sleep(1500);
            assertTrue(appliance.isAlive(), "still running after the end of stdin:\n" + appliance.errors());
            appliance.stop();
        }
    }

    @Test
    void aSecondApplianceOnTheSameHomeIsRefusedAndTheFirstKeepsRunning() throws Exception {
        try (Appliance first = Appliance.start(home)) {
            Appliance.Exit second = Appliance.run(home, Appliance.READY_TIMEOUT);
            assertEquals(1, second.code(), second.toString());
            assertEquals("ddmapper: home " + home + " is in use by another ddmapper (pid " + first.pid()
                    + "); give this one another --home\n", second.stderr());
            assertEquals("", second.stdout());
            assertTrue(first.isAlive());
            first.stop();
        }
    }

    @Test
    void sigtermDuringTheBootStopsItCleanly() throws Exception {
        Process process = Appliance.builder().home(home).spawn();
        try {
            // the lock file is written once the signal handlers are in place, before the framework starts
            Path lock = home.resolve("run/ddmapper.lock");
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!Files.exists(lock) && process.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(Files.exists(lock), "the boot began");
            process.toHandle().destroy(); // SIGTERM
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "stopped within 30 s");
            String stderr = new String(process.getErrorStream().readAllBytes());
            assertEquals(0, process.exitValue(), stderr);
            assertEquals("", stderr);
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void aBundleThatCannotResolveStopsTheBootNamingItAndItsFile(@TempDir Path dist) throws Exception {
        copyTree(Appliance.distribution(), dist, "var");
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().putValue("Bundle-ManifestVersion", "2");
        manifest.getMainAttributes().putValue("Bundle-SymbolicName", "org.example.broken");
        manifest.getMainAttributes().putValue("Import-Package", "org.example.missing");
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(dist.resolve("bundle/broken-1.0.jar")), manifest)) {
            jar.flush();
        }
        Appliance.Exit exit = Appliance.builder().home(home).distribution(dist).run(Appliance.READY_TIMEOUT);
        assertEquals(1, exit.code(), exit.toString());
        assertTrue(exit.stderr().startsWith("ddmapper: bundle org.example.broken (broken-1.0.jar) does not start: "
                + "Unable to resolve org.example.broken"), exit.stderr());
        assertTrue(exit.stderr().contains("osgi.wiring.package=org.example.missing"), exit.stderr());
        assertEquals(1, exit.stderr().lines().count(), exit.stderr());
        assertEquals("", exit.stdout());
    }

    static void copyTree(Path from, Path to, String skipped) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path source : files.sorted().toList()) {
                Path relative = from.relativize(source);
                if (relative.toString().startsWith(skipped)) {
                    continue;
                }
                Path target = to.resolve(relative.toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    /** Both endpoints are served: nbd= is 127.0.0.1 with the bound port, control= the socket HOME/run/control.sock. */
    private static void assertBothEndpointsAreServed(Appliance appliance, Map<String, DistributionBundles.Jar> jars) {
        List<String> problems = new ArrayList<>();
        for (String bundle : List.of("org.ddmapper.nbd", "org.ddmapper.control")) {
            if (!jars.get(bundle).declaresComponents()) {
                problems.add(bundle + " declares no components");
            }
        }
        Matcher m = Pattern.compile("127\\.0\\.0\\.1:(\\d+)").matcher(appliance.nbdAddress());
        if (!m.matches() || Integer.parseInt(m.group(1)) == 0) {
            problems.add("nbd should be 127.0.0.1 with the bound port");
        }
        if (!appliance.controlSocket().equals(appliance.home().resolve("run/control.sock"))
                || !Files.exists(appliance.controlSocket()) || !appliance.hasControl()) {
            problems.add("control should be the socket HOME/run/control.sock");
        }
        assertEquals(List.of(), problems, appliance.readyLine());
        assertNotEquals("", appliance.readyLine());
    }
}
