package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The distribution runtime/target/ddmapper/ and its tar.gz: layout, bundles, the systemd unit. */
@Timeout(60)
class DistributionTest {

    private final Path dist = Appliance.distribution();
    private final Path root = dist.resolve("../../..").normalize();

    @Test
    void theLayoutShowsWhatEachFolderIsFor() throws IOException {
        for (String script : List.of("bin/ddmapper", "bin/ddsetup", "bin/ddsetup-java")) {
            assertTrue(Files.getPosixFilePermissions(dist.resolve(script)).contains(PosixFilePermission.OTHERS_EXECUTE),
                    script);
        }
        byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(dist.resolve("bin/ddsetup")), 4);
        assertTrue(java.util.Arrays.equals(new byte[] {0x7f, 'E', 'L', 'F'}, head), "bin/ddsetup is the native client");
        assertEquals(Set.of("org.apache.felix.framework-7.0.5.jar", "runtime-0.1.0-SNAPSHOT.jar", "ddmapper.jsa", "ddsetup.jsa", "cds-made-in",
                        "ocf"),
                names(dist.resolve("lib")), "the class path is the launcher and the framework, nothing a bundle also provides;"
                + " beside them the class-data-sharing archives and the Pacemaker resource agents");
        for (String script : List.of("bin/ddmapper-reconnect", "lib/ocf/resource.d/ddmapper/appliance", "lib/ocf/resource.d/ddmapper/device")) {
            assertTrue(Files.getPosixFilePermissions(dist.resolve(script)).contains(PosixFilePermission.OTHERS_EXECUTE), script);
        }
        for (String file : List.of("etc/config.properties", "etc/tinylog.properties", "etc/tables/demo.table",
                "etc/ddmapper.service", "var/README.md")) {
            assertTrue(Files.isRegularFile(dist.resolve(file)), file);
        }
    }

    @Test
    void bundleHoldsEveryModuleOfTheReactorAndTheThirdPartyBundles() throws IOException {
        Set<String> jars = names(dist.resolve("bundle"));
        List<String> missing = new ArrayList<>();
        Matcher module = Pattern.compile("<module>bundles/([^<]+)</module>").matcher(Files.readString(root.resolve("pom.xml")));
        while (module.find()) {
            String prefix = module.group(1) + "-";
            if (jars.stream().noneMatch(j -> j.startsWith(prefix) && j.substring(prefix.length()).matches("\\d.*"))) {
                missing.add(module.group(1) + " (add it to runtime/pom.xml)");
            }
        }
        for (String thirdParty : List.of("org.apache.felix.scr-", "org.osgi.service.component-", "org.osgi.util.promise-",
                "org.osgi.util.function-", "org.apache.felix.gogo.runtime-", "org.apache.felix.gogo.command-",
                "org.apache.felix.gogo.shell-", "tinylog-api-", "tinylog-impl-", "jna-")) {
            if (jars.stream().noneMatch(j -> j.startsWith(thirdParty))) {
                missing.add(thirdParty);
            }
        }
        assertEquals(List.of(), missing, "bundle/ holds " + jars);
    }

    @Test
    void theTarballHoldsTheSameTreeUnderDdmapperWithExecutableScripts() throws Exception {
        Path tarball = dist.resolveSibling("ddmapper.tar.gz");
        Set<String> expected = new TreeSet<>();
        for (String folder : List.of("bin", "etc", "lib", "bundle", "java")) {
            try (Stream<Path> files = Files.walk(dist.resolve(folder))) {
                files.filter(Files::isRegularFile).forEach(f -> expected.add("ddmapper/" + dist.relativize(f)));
            }
        }
        expected.add("ddmapper/var/README.md");

        List<String> listing = run(List.of("tar", "tzvf", tarball.toString()));
        Set<String> files = new TreeSet<>();
        for (String line : listing) {
            String[] fields = line.trim().split("\\s+");
            // a symbolic link (the runtime's legal/ notices) lists as "NAME -> TARGET"
            String name = fields[0].startsWith("l") ? fields[fields.length - 3] : fields[fields.length - 1];
            if (fields[0].startsWith("d")) {
                continue;
            }
            files.add(name);
            if (name.startsWith("ddmapper/bin/")) {
                assertEquals("-rwxr-xr-x", fields[0], line);
            }
        }
        assertEquals(expected, files);
    }

    @Test
    void theSystemdUnitRunsTheApplianceAsAServiceAndSystemdAcceptsIt(@TempDir Path dir) throws Exception {
        String unit = Files.readString(dist.resolve("etc/ddmapper.service"));
        for (String line : List.of("ExecStart=/opt/ddmapper/bin/ddmapper --no-console", "Restart=on-failure",
                "KillSignal=SIGTERM", "RestartPreventExitStatus=64 78")) {
            assertTrue(unit.lines().anyMatch(l -> l.startsWith(line)), line);
        }
        // systemd's SIGKILL comes after the launcher's own bound on the stop, which names what it cut short
        int unitStop = Integer.parseInt(unit.lines().filter(l -> l.startsWith("TimeoutStopSec="))
                .findFirst().orElseThrow().substring("TimeoutStopSec=".length()).trim());
        int launcherStop = Integer.parseInt(Files.readString(dist.resolve("etc/config.properties")).lines()
                .filter(l -> l.startsWith("ddmapper.stop.timeout.seconds")).findFirst().orElseThrow()
                .split("=")[1].trim());
        assertTrue(launcherStop + 2 <= unitStop, "launcher " + launcherStop + " s, unit TimeoutStopSec " + unitStop + " s");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")), "systemd-analyze is not installed");
        Path copy = dir.resolve("ddmapper.service");
        Files.writeString(copy, unit.replace("/opt/ddmapper", dist.toString()));
        assertEquals(List.of(), run(List.of("systemd-analyze", "verify", copy.toString())));
    }

    private static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return new TreeSet<>(files.map(f -> f.getFileName().toString()).toList());
        }
    }

    /** Runs a command (bounded) and returns its output lines; fails on a non-zero exit. */
    private static List<String> run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, process.exitValue(), String.join(" ", command) + ": " + output);
        return output.lines().toList();
    }
}
