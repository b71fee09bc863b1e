package org.ddmapper.it.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.it.core.UpgradeJars;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Read-only code, writable state: a copy of the distribution with every write bit removed, booted by root
 * without CAP_DAC_OVERRIDE (so the mode bits hold, as on a squashfs root or an /opt owned by root), serves
 * a device, takes a live upgrade of target-linear while fio writes and verifies through NBD, and after a
 * restart runs the upgraded version (kept in the home's bundle store) with the data intact; the
 * distribution is byte-for-byte what it was. A revert then goes back to the image's version, live.
 */
@Timeout(240)
class ReadOnlyInstallTest {
    static final String LINEAR = "org.ddmapper.target.linear";

    @TempDir Path dir;

    @Test
    void aReadOnlyDistributionTakesAnUpgradeUnderIoAndBootsIntoIt() throws Exception {
        String fio = Peers.require("fio");
        String qemuIo = Peers.require("qemu-io");
        Path dist = ImageFixture.readOnlyCopy(Appliance.distribution(), dir.resolve("dist"));
        Path imageJar = ImageFixture.bundleJar(dist, "target-linear-");
        byte[] imageBytes = Files.readAllBytes(imageJar);
        String base = UpgradeJars.version(imageJar).toString();
        String next = UpgradeJars.nextMicro(UpgradeJars.version(imageJar));
        Path newJar = UpgradeJars.withVersion(imageJar, dir.resolve("target-linear-next.jar"), next);
        assertNotEquals(0, Peers.run(30, ImageFixture.withoutDacOverride("touch", dist.resolve("bundle/x").toString()).toArray(String[]::new))
                .exit(), "the copy is read-only to the appliance");

        Path home = dir.resolve("home");
        Path data = Files.createDirectories(home.resolve("data")).resolve("lin.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(data.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        try (Appliance a = ImageFixture.boot(dist, home)) {
            Appliance.Exit create = a.ddsetup("create", "lin", "--table", "0 32768 linear " + data + " 0");
            assertEquals(0, create.code(), create.toString());
            CompletableFuture<Peers.Result> io = CompletableFuture.supplyAsync(() -> ImageFixture.fio(fio, a.nbdUri("lin"), 8));
            Thread.sleep(1500);
            Appliance.Exit upgrade = a.ddsetup("upgrade", LINEAR, newJar.toString());
            assertEquals(0, upgrade.code(), upgrade.toString());
            assertTrue(upgrade.stdout().matches("upgraded " + LINEAR.replace(".", "\\.") + " " + base.replace(".", "\\.") + " -> "
                    + next.replace(".", "\\.") + " \\(2 devices, max stall \\d+ ms\\)\n"), upgrade.stdout());
            Peers.Result fioRun = io.get(60, TimeUnit.SECONDS);
            assertEquals(0, fioRun.exit(), fioRun.output());
            assertTrue(!fioRun.output().contains("verify:") && !fioRun.output().contains("bad magic"), fioRun.output());
            ImageFixture.qemuIo(qemuIo, a.nbdUri("lin"), "write -P 0x5a 1M 64k");
            a.stop();
        }
        assertArrayEquals(imageBytes, Files.readAllBytes(imageJar), "the image's jar was not written");
        assertTrue(Files.isRegularFile(home.resolve("bundles/" + LINEAR + "-" + next + ".jar")), "the store holds the new jar");

        try (Appliance a = ImageFixture.boot(dist, home)) {
            assertEquals(LINEAR + " image " + base + " running " + next + "\n", ImageFixture.firstLine(a.ddsetup("upgrade", "--list")));
            ImageFixture.qemuIo(qemuIo, a.nbdUri("lin"), "read -P 0x5a 1M 64k");
            Appliance.Exit revert = a.ddsetup("upgrade", "--revert", LINEAR);
            assertEquals(0, revert.code(), revert.toString());
            assertTrue(revert.stdout().startsWith("reverted " + LINEAR + " " + next + " -> " + base + " (2 devices, "), revert.stdout());
            assertEquals("no upgrades stored\n", a.ddsetup("upgrade", "--list").stdout());
            ImageFixture.qemuIo(qemuIo, a.nbdUri("lin"), "read -P 0x5a 1M 64k");
            Appliance.Exit again = a.ddsetup("upgrade", "--revert", LINEAR);
            assertEquals(1, again.code());
            assertEquals("ddsetup: nothing to revert: the bundle store holds no upgrade of " + LINEAR + " that runs now (running " + base
                    + ", the image's version): No such file or directory\n", again.stderr());
            a.stop();
        }
        assertTrue(Files.notExists(home.resolve("bundles/" + LINEAR + "-" + next + ".jar")), "a revert drops the jar from the store");
    }
}
