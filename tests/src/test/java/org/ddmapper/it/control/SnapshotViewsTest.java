package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.DeviceRef;
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

/** {@code ddsetup snapshots} and the console's {@code dm:snapshots}: every snapshot as lvs would show it, the same text in both. */
@Timeout(180)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SnapshotViewsTest {
    static final long SECTORS = 2048;
    @TempDir
    static Path dir;
    ControlHarness appliance;
    GogoSession gogo;
    Path origin;

    @BeforeAll
    void start() throws Exception {
        appliance = new ControlHarness(EmbeddedFramework.builder());
        Waits.awaitTypes(appliance.manager, "snapshot-origin", "snapshot", "snapshot-merge");
        gogo = GogoSession.open(appliance.fw, "(osgi.command.function=snapshots)");
        origin = Files.write(dir.resolve("origin.img"), new byte[(int) SECTORS * 512]);
        Path cowA = Files.write(dir.resolve("cow-a.img"), new byte[64 * 1024 * 8]);
        Path cowB = Files.write(dir.resolve("cow-b.img"), new byte[256 * 512]);
        var dm = appliance.manager;
        dm.create("snap-a", "0 " + SECTORS + " snapshot " + origin + " " + cowA + " P 8");
        dm.create("snap-b", "0 " + SECTORS + " snapshot " + origin + " " + cowB + " PO 16");
        dm.create("base", "0 " + SECTORS + " snapshot-origin " + origin);
        try (BlockDevice base = dm.open(DeviceRef.of("base")); BlockDevice b = dm.open(DeviceRef.of("snap-b"))) {
            assertTrue(Io.write(base, 0, new byte[64 * 512]).isOk(), "8 chunks of a, 4 of b");
            for (int i = 0; i < 20; i++) Io.write(b, 256 + i * 16L, new byte[512]); // b's 256 sectors fill up: PO overflows
        }
        dm.suspend(DeviceRef.of("snap-a"), false);
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
    void everySnapshotWithItsOriginCowStoreUseAndState() throws Exception {
        String expected = """
                NAME   ORIGIN COW          STORE DATA%  STATE
                snap-a base   COW-A P 8   7.81  suspended
                snap-b base   COW-B PO 16 -     overflow
                """.replace("COW-A", dir.resolve("cow-a.img").toString()).replace("COW-B", dir.resolve("cow-b.img").toString());
        String shown = ddsetup("snapshots");
        assertEquals(align(expected), shown);
        assertEquals(shown, gogo.printed("dm:snapshots"), "the console prints the same");
        assertEquals(2, ddsetup("snapshots", "base").lines().count() - 1, "an origin's snapshots");
        assertTrue(ddsetup("snapshots", "snap-b").contains("overflow"));
    }

    @Test
    void aDeviceThatIsNoSnapshotIsRefused() throws Exception {
        ControlHarness.Result r = appliance.ddsetup(null, "snapshots", "nosuch");
        assertEquals(1, r.exit());
        assertEquals("ddsetup: no device named 'nosuch': No such device or address\n", r.stderr());
        appliance.manager.create("plain", "0 8 zero");
        r = appliance.ddsetup(null, "snapshots", "plain");
        assertEquals(1, r.exit());
        assertEquals("ddsetup: device 'plain' is neither a snapshot nor the origin of one: Invalid argument\n", r.stderr());
    }

    /** The expected table with its columns aligned as the view aligns them (paths have varying lengths). */
    private static String align(String table) {
        java.util.List<java.util.List<String>> rows = new java.util.ArrayList<>();
        for (String line : table.lines().toList()) {
            String[] c = line.split(" +");
            java.util.List<String> row = new java.util.ArrayList<>();
            for (int i = 0; i < c.length; i++) {
                if (i == 3 && c.length > 6 && !c[0].equals("NAME")) row.add(c[i] + " " + c[++i]); // STORE is two words
                else row.add(c[i]);
            }
            rows.add(row);
        }
        int[] w = new int[6];
        for (var r : rows) for (int i = 0; i < r.size(); i++) w[i] = Math.max(w[i], r.get(i).length());
        StringBuilder sb = new StringBuilder();
        for (var r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                if (i > 0) line.append(' ');
                line.append(r.get(i));
                if (i < r.size() - 1) line.append(" ".repeat(w[i] - r.get(i).length()));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }
}
