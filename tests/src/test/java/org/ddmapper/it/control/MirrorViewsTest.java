package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.ddmapper.api.DeviceManager;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.IoStatus;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.GogoSession;
import org.ddmapper.it.support.Io;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mirror view, {@code ddsetup mirror [NAME]} and the console's {@code dm:mirror}: a mirror
 * with a disk log and a leg that failed a write (its stacked device reloaded with {@code error}),
 * a healthy three-leg mirror with a core log, and a linear device that is no mirror.
 */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MirrorViewsTest {
    static final long SECTORS = 2048;
    @TempDir
    static Path dir;
    ControlHarness appliance;
    GogoSession gogo;
    Path a;
    Path b;
    Path log;

    @BeforeAll
    void start() throws Exception {
        appliance = new ControlHarness(EmbeddedFramework.builder());
        Waits.awaitTypes(appliance.manager, "mirror", "linear", "error");
        gogo = GogoSession.open(appliance.fw, "(osgi.command.function=mirror)");
        a = Files.write(dir.resolve("a.img"), new byte[(int) SECTORS * 512]);
        b = Files.write(dir.resolve("b.img"), new byte[(int) SECTORS * 512]);
        log = Files.write(dir.resolve("log.img"), new byte[4096]);
        DeviceManager dm = appliance.manager;
        dm.create("la", "0 " + SECTORS + " linear " + a + " 0");
        dm.create("lb", "0 " + SECTORS + " linear " + b + " 0");
        dm.create("plain", "0 " + SECTORS + " linear " + a + " 0");
        dm.create("m", "0 " + SECTORS + " mirror disk 3 " + log + " 256 nosync 2 dm:la 0 dm:lb 0 1 handle_errors");
        dm.create("m3", "0 1024 mirror core 2 512 nosync 3 " + a + " 1024 " + b + " 1024 " + a + " 0");
        dm.load(DeviceRef.of("lb"), "0 " + SECTORS + " error");
        dm.resume(DeviceRef.of("lb"));
        try (DeviceManager.OpenDevice m = dm.open(DeviceRef.of("m"))) {
            assertEquals(IoStatus.OK, Io.write(m, 300, Io.pattern(4096, 1)));
        }
    }

    @AfterAll
    void stop() {
        if (appliance != null) appliance.close();
    }

    private String ddsetup(String... args) throws Exception {
        ControlHarness.Result r = appliance.ddsetup(null, args);
        assertEquals(0, r.exit(), String.join(" ", args) + ": " + r.stderr());
        return r.stdout();
    }

    @Test
    void everyMirrorWithItsLegsSyncAndLog() throws Exception {
        String all = ddsetup("mirror");
        assertEquals("m (dm:m) mirror 0+2048: 2 legs, disk log " + log + " (ok), regions of 256 sectors, nosync, handle_errors\n"
                + "  7/8 regions in sync (87%)\n"
                + "  |- leg 0 A dm:la 0\n"
                + "  `- leg 1 D dm:lb 0 (write failed)\n"
                + "m3 (dm:m3) mirror 0+1024: 3 legs, core log, regions of 512 sectors, nosync\n"
                + "  2/2 regions in sync (100%)\n"
                + "  |- leg 0 A " + a + " 1024\n"
                + "  |- leg 1 A " + b + " 1024\n"
                + "  `- leg 2 A " + a + " 0\n", all);
        assertEquals(all, gogo.printed("dm:mirror"));
        String one = ddsetup("mirror", "m3");
        assertTrue(all.endsWith(one), one);
        assertEquals(one, gogo.printed("dm:mirror m3"));
    }

    @Test
    void mistakesAreSentences() throws Exception {
        ControlHarness.Result notAMirror = appliance.ddsetup(null, "mirror", "plain");
        assertEquals(1, notAMirror.exit());
        assertEquals("ddsetup: device 'plain' has no mirror target: Invalid argument\n", notAMirror.stderr());
        ControlHarness.Result extra = appliance.ddsetup(null, "mirror", "m", "m3");
        assertEquals(1, extra.exit(), "usage errors exit 1, as dmsetup's");
        assertTrue(extra.stderr().startsWith("ddsetup: mirror: unexpected 'm3': Invalid argument\nusage: ddsetup"), extra.stderr());
        Exception e = assertThrows(Exception.class, () -> gogo.printed("dm:mirror nosuch"));
        assertEquals("no device named 'nosuch'", e.getMessage());
    }
}
