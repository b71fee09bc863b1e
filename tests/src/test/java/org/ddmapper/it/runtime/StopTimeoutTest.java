package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole stop is bounded (ddmapper.stop.timeout.seconds, below the systemd unit's TimeoutStopSec):
 * a bundle whose stop never returns is cut short, named on stderr, and the launcher exits 1 instead
 * of waiting for systemd's SIGKILL.
 */
@Timeout(180)
class StopTimeoutTest {

    private static final String CLASS_FILE = HangOnStop.class.getName().replace('.', '/') + ".class";

    @TempDir
    Path dir;

    @Test
    void aStopThatHangsIsCutShortAtTheBoundNamingTheBundle() throws Exception {
        Path dist = dir.resolve("dist");
        ApplianceBootTest.copyTree(Appliance.distribution(), dist, "var");
        // "0-" sorts first: installed first, stopped last, so every other bundle has stopped by then
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().putValue("Bundle-ManifestVersion", "2");
        manifest.getMainAttributes().putValue("Bundle-SymbolicName", "org.example.hangs");
        manifest.getMainAttributes().putValue("Bundle-Activator", HangOnStop.class.getName());
        manifest.getMainAttributes().putValue("Import-Package", "org.osgi.framework");
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(dist.resolve("bundle/0-hangs-1.0.jar")), manifest);
             InputStream activator = HangOnStop.class.getClassLoader().getResourceAsStream(CLASS_FILE)) {
            jar.putNextEntry(new JarEntry(CLASS_FILE));
            activator.transferTo(jar);
            jar.closeEntry();
        }
        Path config = dist.resolve("etc/config.properties");
        String shipped = Files.readString(config);
        assertTrue(shipped.contains("\nddmapper.stop.timeout.seconds = 40\n"), shipped);
        Files.writeString(config, shipped.replace("\nddmapper.stop.timeout.seconds = 40\n", "\nddmapper.stop.timeout.seconds = 3\n"));

        try (Appliance appliance = Appliance.builder().home(dir.resolve("home")).distribution(dist)
                .args("--etc", dist.resolve("etc").toString()).start()) {
            long pid = appliance.pid();
            long sent = System.nanoTime();
            Appliance.Exit exit = appliance.terminate(Duration.ofSeconds(60));
            Duration took = Duration.ofNanos(System.nanoTime() - sent);
            assertEquals(1, exit.code(), exit.toString());
            List<String> lines = exit.stderr().lines().toList();
            assertEquals(List.of("ddmapper: the stop took longer than 3 s (ddmapper.stop.timeout.seconds); "
                    + "exiting without waiting for org.example.hangs (stopping)"), lines, exit.stderr());
            assertTrue(took.compareTo(Duration.ofSeconds(3)) >= 0, "waited the bound: " + took);
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " is gone");
        }
    }
}
