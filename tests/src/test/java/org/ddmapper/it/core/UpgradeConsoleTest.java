package org.ddmapper.it.core;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceEvent;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.EventKind;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.GogoSession;
import org.ddmapper.it.support.Waits;
import org.ddmapper.it.support.Io;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.EventStream;

/**
 * The operator's console flow, headless through Gogo's CommandProcessor: {@code lb} to find the
 * bundle, Felix's {@code update ID}, {@code dm:status}, then the safe {@code dm:upgrade}, with a
 * client writing throughout.
 */
@Timeout(90)
class UpgradeConsoleTest {
    static final String LINEAR = "org.ddmapper.target.linear";
    @TempDir Path dir;

    @Test
    void lbUpdateStatusAndUpgradeFromTheConsole() throws Exception {
        Path home = dir.resolve("home");
        Path installed;
        String base;
        String next;
        try (UpgradeBench b = new UpgradeBench(dir, EmbeddedFramework.builder().home(home), LINEAR)) {
            installed = b.installed.get(LINEAR);
            Gogo gogo = new Gogo(b.fw);
            Path img = b.fx.file("c0.img", 64);
            assertEquals("", gogo.run("dm:create --table \"0 64 linear " + img + " 0\" c0"));
            base = UpgradeJars.version(b.installed.get(LINEAR)).toString();
            next = UpgradeJars.nextMicro(UpgradeJars.version(b.installed.get(LINEAR)));
            Path newJar = UpgradeJars.withVersion(b.installed.get(LINEAR), dir.resolve("linear-next.jar"), next);

            String listing = gogo.run("lb -s");
            Matcher lb = Pattern.compile("(?m)^\\s*(\\d+)\\|Active\\s*\\|.*\\|" + Pattern.quote(LINEAR) + " \\(" + Pattern.quote(base) + "\\)\\|")
                    .matcher(listing);
            assertTrue(lb.find(), "lb lists the linear bundle active: " + listing);
            long id = Long.parseLong(lb.group(1));

            try (BlockDevice dev = b.dm.open(DeviceRef.of("c0"))) {
                long nr = EventStream.position(b.dm, DeviceRef.of("c0"));
                gogo.run("update " + id);
                Waits.await("c0 rebuilt after update", () -> !b.dm.info(DeviceRef.of("c0")).suspended()
                        && b.dm.events(DeviceRef.of("c0"), nr).stream().anyMatch(e -> e.kind() == EventKind.BUNDLE_SWAPPED));
                DeviceEvent swapped = b.dm.events(DeviceRef.of("c0"), nr).stream().filter(e -> e.kind() == EventKind.BUNDLE_SWAPPED)
                        .findFirst().orElseThrow();
                assertEquals(List.of(LINEAR, base, base), List.of(swapped.details().get("bundle"), swapped.details().get("from"),
                        swapped.details().get("to")));
                assertEquals("0 64 linear \n", gogo.run("dm:status c0"));
                assertTrue(Io.write(dev, 1, Io.filled(1, 7)).isOk());

                String upgraded = gogo.run("dm:upgrade " + LINEAR + " " + newJar);
                assertTrue(upgraded.matches("upgraded " + Pattern.quote(LINEAR + " " + base + " -> " + next)
                        + " \\(1 device, max stall \\d+ ms\\)\n"), upgraded);
                assertTrue(gogo.run("lb -s").contains(LINEAR + " (" + next + ")"), "lb shows the new version");
                assertEquals(next, b.storedCurrent(LINEAR), "the home's bundle store boots the new version");
                assertEquals("0 64 linear \n", gogo.run("dm:status c0"));
                assertTrue(Io.write(dev, 2, Io.filled(1, 8)).isOk());

                Exception e = assertThrows(Exception.class, () -> gogo.run("dm:upgrade org.ddmapper.target.nosuch " + newJar));
                assertEquals("no bundle org.ddmapper.target.nosuch is installed", e.getMessage());
            }
            assertEquals(7, CoreFixture.sectorOf(img, 1)[0]);
            assertEquals(8, CoreFixture.sectorOf(img, 2)[0]);
        }
        // a restart installs the store's current jar (as the launcher does): the new version, and the device comes back on it
        try (EmbeddedFramework again = EmbeddedFramework.builder().home(home).without(LINEAR).start()) {
            assertEquals(base, UpgradeJars.version(installed).toString(), "the image's jar is unchanged");
            again.install(home.resolve("bundles").resolve(LINEAR + "-" + next + ".jar"));
            assertEquals(next, again.bundle(LINEAR).getVersion().toString());
            var dm = again.service(org.ddmapper.api.DeviceManager.class);
            Waits.await("c0 back after the restart", () -> dm.list().stream().anyMatch(d -> d.name().equals("c0") && !d.suspended()));
            try (BlockDevice dev = dm.open(DeviceRef.of("c0"))) {
                assertEquals(8, Io.read(dev, 2, 512)[0]);
            }
        }
    }

    /** A headless Gogo session of the embedded framework, with the bundle-id converter the shell would bring. */
    static final class Gogo {
        private final GogoSession session;

        Gogo(EmbeddedFramework fw) throws Exception {
            session = GogoSession.open(fw, "(osgi.command.function=upgrade)");
            registerBundleConverter(fw, session.runtime());
        }

        /**
         * What gogo.shell gives the distribution's console and the test framework lacks: a Converter
         * turning a bundle id into a Bundle, so that {@code update 20} works (a proxy of the
         * runtime's interface, registered from the system bundle).
         */
        private static void registerBundleConverter(EmbeddedFramework fw, org.osgi.framework.Bundle gogoRuntime) throws Exception {
            Class<?> converter = gogoRuntime.loadClass("org.apache.felix.service.command.Converter");
            Object proxy = java.lang.reflect.Proxy.newProxyInstance(converter.getClassLoader(), new Class<?>[] {converter}, (p, m, args) ->
                    switch (m.getName()) {
                        case "convert" -> ((Class<?>) args[0]).getName().equals(org.osgi.framework.Bundle.class.getName())
                                && args[1] != null && args[1].toString().matches("\\d+") ? fw.context().getBundle(Long.parseLong(args[1].toString())) : null;
                        case "hashCode" -> System.identityHashCode(p);
                        case "equals" -> p == args[0];
                        case "toString" -> "bundle id converter";
                        default -> null;
                    });
            java.util.Hashtable<String, Object> props = new java.util.Hashtable<>();
            props.put("osgi.converter.classes", org.osgi.framework.Bundle.class.getName());
            fw.context().registerService(converter.getName(), proxy, props);
        }

        /** Runs one command line; returns what it printed (a Gogo result object is printed too). */
        String run(String line) throws Exception {
            return session.shown(line);
        }
    }
}
