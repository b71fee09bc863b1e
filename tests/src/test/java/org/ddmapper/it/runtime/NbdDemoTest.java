package org.ddmapper.it.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What ./ddmapper alone gives: the demo device from etc/tables/demo.table, served over NBD on the port
 * of the ready line, which real clients list, write and read, down to the bytes in HOME/data/demo.img.
 */
@Timeout(180)
class NbdDemoTest {

    @TempDir
    Path home;

    @Test
    void realClientsListWriteAndReadTheDemoExport() throws Exception {
        assumeTrue(DistributionBundles.read(Appliance.distribution()).get("org.ddmapper.nbd").declaresComponents(),
                "the nbd bundle has no NBD server component yet");
        String nbdinfo = peer("nbdinfo");
        String qemuIo = peer("qemu-io");
        try (Appliance appliance = Appliance.start(home)) {
            // the core builds boot-table devices as their target types arrive: poll, bounded
            String listing = "";
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!listing.contains("export=\"demo\"") && System.nanoTime() < deadline) {
                listing = run(nbdinfo, "--list", "nbd://" + appliance.nbdAddress());
                Thread.sleep(200);
            }
            assertTrue(listing.contains("export=\"demo\""), listing);
            assertTrue(listing.contains("export-size: 67108864"), listing);

            String io = run(qemuIo, "-f", "raw", appliance.nbdUri("demo"),
                    "-c", "write -P 0x5a 1M 64k", "-c", "flush", "-c", "read -P 0x5a 1M 64k");
            assertTrue(io.contains("read 65536/65536 bytes at offset 1048576"), io);

            byte[] disk = Files.readAllBytes(home.resolve("data/demo.img"));
            byte[] expected = new byte[65536];
            Arrays.fill(expected, (byte) 0x5a);
            assertTrue(Arrays.equals(expected, Arrays.copyOfRange(disk, 1 << 20, (1 << 20) + 65536)),
                    "the bytes are in HOME/data/demo.img");
            assertEquals(0, disk[(1 << 20) - 1], "nothing written before the range");
            appliance.stop();
        }
    }

    @Test
    void withNbdNoneAndAUnixSocketTheDemoIsServedOnTheSocketOnly() throws Exception {
        assumeTrue(DistributionBundles.read(Appliance.distribution()).get("org.ddmapper.nbd").declaresComponents(),
                "the nbd bundle has no NBD server component yet");
        String nbdinfo = peer("nbdinfo");
        Path socket = home.resolve("run/nbd.sock");
        try (Appliance appliance = Appliance.start(home, "--nbd", "none", "--nbd-socket", socket.toString())) {
            assertEquals("none", appliance.nbdAddress(), appliance.readyLine());
            assertEquals(socket, appliance.nbdSocket(), appliance.readyLine());
            String uri = "nbd+unix:///?socket=" + socket;
            String listing = "";
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!listing.contains("export=\"demo\"") && System.nanoTime() < deadline) {
                listing = run(nbdinfo, "--list", uri);
                Thread.sleep(200);
            }
            assertTrue(listing.contains("export=\"demo\""), listing);
            appliance.stop();
        }
    }

    /** The peer's path; missing, it skips the test on a developer machine and fails it in CI (CI=true). */
    private static String peer(String program) {
        for (String dir : List.of("/usr/bin", "/usr/local/bin", "/bin")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return dir + "/" + program;
            }
        }
        String message = program + " is not installed (./run-tests installs it as root)";
        if ("true".equals(System.getenv("CI"))) {
            fail(message);
        }
        assumeTrue(false, message);
        return null;
    }

    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(String.join(" ", command) + " did not finish within 30 s");
        }
        assertEquals(0, process.exitValue(), String.join(" ", command) + ":\n" + output);
        return output;
    }
}
