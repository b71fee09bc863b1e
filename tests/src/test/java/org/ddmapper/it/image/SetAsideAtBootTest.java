package org.ddmapper.it.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.ddmapper.it.core.UpgradeJars;
import org.ddmapper.it.support.Appliance;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Constants;

/**
 * A bad upgrade never makes the appliance unbootable: target-linear is upgraded twice (v1, v2, both good),
 * then the store's v2 jar is replaced by a broken build of v2 (it imports a package nothing exports, so it
 * cannot start) and its target-fault upgrade by bytes that are no jar at all. The next boot sets both aside,
 * comes up on linear v1 and the image's target-fault, names them on the ready line and stderr, raises
 * BUNDLE_SET_ASIDE on the device built on linear, and {@code upgrade --list} shows why; the boot after that
 * does not try them again.
 */
@Timeout(240)
class SetAsideAtBootTest {
    static final String LINEAR = "org.ddmapper.target.linear";
    static final String FAULT = "org.ddmapper.target.fault";

    @TempDir Path dir;

    @Test
    void aStoredVersionThatDoesNotStartIsSetAsideAndThePreviousOneRuns() throws Exception {
        String qemuIo = Peers.require("qemu-io");
        Path dist = ImageFixture.readOnlyCopy(Appliance.distribution(), dir.resolve("dist"));
        Path linearJar = ImageFixture.bundleJar(dist, "target-linear-");
        Path faultJar = ImageFixture.bundleJar(dist, "target-fault-");
        String base = UpgradeJars.version(linearJar).toString();
        String v1 = UpgradeJars.nextMicro(UpgradeJars.version(linearJar));
        String v2 = UpgradeJars.nextMicro(org.osgi.framework.Version.parseVersion(v1));
        String faultBase = UpgradeJars.version(faultJar).toString();
        String faultNext = UpgradeJars.nextMicro(UpgradeJars.version(faultJar));
        Path home = dir.resolve("home");
        Path data = Files.createDirectories(home.resolve("data")).resolve("lin.img");
        Files.write(data, new byte[8 << 20]);

        try (Appliance a = ImageFixture.boot(dist, home)) {
            assertEquals(0, a.ddsetup("create", "lin", "--table", "0 16384 linear " + data + " 0").code());
            for (String[] upgrade : List.of(new String[] {LINEAR, v1, linearJar.toString()}, new String[] {LINEAR, v2, linearJar.toString()},
                    new String[] {FAULT, faultNext, faultJar.toString()})) {
                Path jar = UpgradeJars.withVersion(Path.of(upgrade[2]), dir.resolve(upgrade[0] + "-" + upgrade[1] + ".jar"), upgrade[1]);
                Appliance.Exit e = a.ddsetup("upgrade", upgrade[0], jar.toString());
                assertEquals(0, e.code(), e.toString());
            }
            ImageFixture.qemuIo(qemuIo, a.nbdUri("lin"), "write -P 0x6b 0 64k");
            a.stop();
        }
        Path storedV2 = home.resolve("bundles/" + LINEAR + "-" + v2 + ".jar");
        Path broken = UpgradeJars.rewrite(storedV2, dir.resolve("broken.jar"), m -> m.putValue(Constants.IMPORT_PACKAGE,
                m.getValue(Constants.IMPORT_PACKAGE) + ",org.ddmapper.no.such.pkg"));
        Files.move(broken, storedV2, StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(home.resolve("bundles/" + FAULT + "-" + faultNext + ".jar"), "not a jar");

        try (Appliance a = ImageFixture.boot(dist, home)) {
            assertTrue(a.readyLine().endsWith(" set-aside=" + FAULT + "@" + faultNext + "," + LINEAR + "@" + v2), a.readyLine());
            assertTrue(a.errors().contains("ddmapper: set aside " + LINEAR + " " + v2 + " from the bundle store: it does not start: "),
                    a.errors());
            assertTrue(a.errors().contains("org.ddmapper.no.such.pkg"), a.errors());
            assertTrue(a.errors().contains("; " + v1 + " runs instead\n"), a.errors());
            assertTrue(a.errors().contains("ddmapper: set aside " + FAULT + " " + faultNext + " from the bundle store: cannot install "),
                    a.errors());
            String list = a.ddsetup("upgrade", "--list").stdout();
            assertTrue(list.contains(LINEAR + " image " + base + " running " + v1 + "\n  " + v2 + " set-aside "), list);
            assertTrue(list.contains("\n  " + v1 + " current "), list);
            assertTrue(list.contains(FAULT + " image " + faultBase + " running " + faultBase + "\n  " + faultNext + " set-aside "), list);
            Appliance.Exit events = a.ddsetup("events", "lin", "--count", "3"); // a restored device: table_live, resumed, then this
            String setAside = events.stdout().lines().filter(l -> l.contains("bundle_set_aside")).findFirst().orElseThrow(
                    () -> new AssertionError("no bundle_set_aside event: " + events));
            assertTrue(setAside.contains("bundle=" + LINEAR) && setAside.contains("version=" + v2) && setAside.contains("running=" + v1)
                    && setAside.contains("reason=it\\ does\\ not\\ start:"), setAside);
            ImageFixture.qemuIo(qemuIo, a.nbdUri("lin"), "read -P 0x6b 0 64k");
            a.stop();
        }

        try (Appliance a = ImageFixture.boot(dist, home)) {
            assertTrue(!a.readyLine().contains("set-aside"), "a set-aside version is not tried again: " + a.readyLine());
            String list = a.ddsetup("upgrade", "--list").stdout();
            assertTrue(list.contains(LINEAR + " image " + base + " running " + v1 + "\n"), list);
            a.stop();
        }
    }
}
