package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.it.support.EmbeddedFramework;
import org.ddmapper.it.support.GogoSession;
import org.ddmapper.it.support.Waits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The views across every multipath map, {@code ddsetup multipath -ll | show topology | show
 * paths} and the console's {@code dm:multipath}, against a live appliance with two maps over
 * stacked legs ({@code dm:XN} = linear over a file), a linear device that is not a map, and one
 * path broken (its leg reloaded with {@code error}) that the path monitor (directio, 1 s) failed.
 */
@Timeout(180)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultipathViewsTest {
    static final long SECTORS = 2048;
    @TempDir
    static Path dir;
    ControlHarness appliance;
    GogoSession gogo;

    @BeforeAll
    void start() throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("multipath.conf"), "defaults {\n polling_interval 1\n}\n");
        appliance = new ControlHarness(EmbeddedFramework.builder().etc(etc));
        Waits.awaitTypes(appliance.manager, "multipath");
        gogo = GogoSession.open(appliance.fw, "(osgi.command.function=multipath)");
        buildMaps();
    }

    @AfterAll
    void stop() {
        if (appliance != null) appliance.close();
    }

    /** mpa: one group of two healthy paths; mpb: two groups of one path each, the second broken. */
    private void buildMaps() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), new byte[(int) SECTORS * 512]);
        Path b = Files.write(dir.resolve("b.img"), new byte[(int) SECTORS * 512]);
        for (String leg : List.of("la0", "la1")) appliance.manager.create(leg, "0 " + SECTORS + " linear " + a + " 0");
        for (String leg : List.of("lb0", "lb1")) appliance.manager.create(leg, "0 " + SECTORS + " linear " + b + " 0");
        appliance.manager.create("plain", "0 " + SECTORS + " linear " + a + " 0");
        appliance.manager.create("mpa", "0 " + SECTORS + " multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 1 dm:la0 1 dm:la1 1");
        appliance.manager.create("mpb", "0 " + SECTORS + " multipath 0 0 2 1 round-robin 0 1 1 dm:lb0 1 round-robin 0 1 1 dm:lb1 1");
        appliance.manager.load(DeviceRef.of("lb1"), "0 " + SECTORS + " error");
        appliance.manager.resume(DeviceRef.of("lb1"));
        Waits.await("the monitor failed dm:lb1 and checked every path", Waits.DEFAULT.multipliedBy(2), () -> {
            String views = show("mpa", "paths") + show("mpb", "paths");
            return views.contains(" failed faulty ") && !views.contains("undef");
        });
    }

    private String show(String map, String what) {
        return appliance.manager.message(DeviceRef.of(map), new TargetRef.ByIndex(0), Message.of("show", what));
    }

    private String console(String line) throws Exception {
        return gogo.printed(line);
    }

    private String ddsetup(String... args) throws Exception {
        ControlHarness.Result r = appliance.ddsetup(null, args);
        assertEquals(0, r.exit(), String.join(" ", args) + ": " + r.stderr());
        assertEquals("", r.stderr(), String.join(" ", args));
        return r.stdout();
    }

    /**
     * The paths table without what moves on between two calls: the seconds to the next check, the
     * reason column (the monitor adds its reconnect attempt's outcome to it a moment after a
     * check) and, with them, the alignment.
     */
    private static String steady(String pathsTable) {
        StringBuilder sb = new StringBuilder();
        for (String line : pathsTable.lines().toList()) {
            String[] cells = line.split(" +", 11);
            if (cells.length > 8 && cells[8].matches("\\d+s")) cells[8] = "Ns";
            sb.append(String.join(" ", java.util.Arrays.copyOf(cells, Math.min(cells.length, 10)))).append('\n');
        }
        return sb.toString();
    }

    /** The topology without the reasons in parentheses at the end of path lines (they can grow between two calls). */
    private static String steadyTopology(String topology) {
        return topology.replaceAll("(?m) \\(.*\\)$", "");
    }

    @Test
    void topologyListsEveryMapWithGroupsPathsAndTheFailedPath() throws Exception {
        String ll = ddsetup("multipath", "-ll");
        String steady = steadyTopology(ll);
        assertEquals(steady, steadyTopology(ddsetup("multipath", "show", "topology")));
        assertEquals(steady, steadyTopology(ddsetup("multipath")));
        assertEquals(steady, steadyTopology(console("dm:multipath -ll")));
        assertEquals(steady, steadyTopology(console("dm:multipath show topology")));
        assertEquals(steady, steadyTopology(console("dm:multipath")));
        // composed from each map's own view, in device order; the linear devices are not maps
        assertEquals(steadyTopology(show("mpa", "topology") + show("mpb", "topology")), steady);
        List<String> lines = ll.lines().toList();
        assertEquals(List.of(
                "mpa (dm:mpa) multipath",
                "size=1M features='1 queue_if_no_path' hwhandler='0' wp=rw queued=0",
                "`-+- policy='round-robin 0' group=1 status=enabled",
                "  |- 1 dm:la0 active ready directio fail=0",
                "  `- 2 dm:la1 active ready directio fail=0",
                "mpb (dm:mpb) multipath",
                "size=1M features='0' hwhandler='0' wp=rw queued=0",
                "|-+- policy='round-robin 0' group=1 status=enabled",
                "| `- 1 dm:lb0 active ready directio fail=0",
                "`-+- policy='round-robin 0' group=2 status=enabled"), lines.subList(0, 10));
        assertEquals(11, lines.size(), ll);
        assertTrue(lines.get(10).startsWith("  `- 2 dm:lb1 failed faulty directio fail=1 (checker directio: faulty (read of block 0 failed"),
                ll);
        assertFalse(ll.contains("plain") || ll.contains("dm:la0 failed"), ll);

        String one = steadyTopology(ddsetup("multipath", "-ll", "mpb"));
        assertEquals(steadyTopology(show("mpb", "topology")), one);
        assertEquals(one, steadyTopology(console("dm:multipath -ll mpb")));
    }

    @Test
    void pathsAreOneTableOfEveryMapsPaths() throws Exception {
        String paths = ddsetup("multipath", "show", "paths");
        assertEquals(steady(paths), steady(console("dm:multipath show paths")));
        List<String> rows = paths.lines().toList();
        assertEquals(5, rows.size(), paths);
        assertEquals(List.of("map", "path", "dev", "group", "dm_st", "chk_st", "checker", "failures", "next_check", "transport", "reason"),
                List.of(rows.get(0).split(" +")));
        assertEquals("""
                map path dev group dm_st chk_st checker failures next_check transport
                mpa 1 dm:la0 1 active ready directio 0 Ns table
                mpa 2 dm:la1 1 active ready directio 0 Ns table
                mpb 1 dm:lb0 1 active ready directio 0 Ns table
                mpb 2 dm:lb1 2 failed faulty directio 1 Ns table
                """, steady(paths));
        for (String healthy : rows.subList(1, 4)) assertTrue(healthy.endsWith(" -"), "no reason for a healthy path: " + paths);
        assertTrue(rows.get(4).contains(" checker directio: faulty (read of block 0 failed"), paths);
        // one header over both maps, every column aligned over all rows
        int reason = rows.get(0).indexOf("reason");
        for (String row : rows.subList(1, rows.size())) assertTrue(row.charAt(reason - 1) == ' ' && row.charAt(reason) != ' ', paths);

        String mpb = ddsetup("multipath", "show", "paths", "mpb");
        assertEquals(steady(show("mpb", "paths")), steady(mpb));
        assertEquals(steady(mpb), steady(console("dm:multipath show paths mpb")));
    }

    @Test
    void mistakesAreSentences() throws Exception {
        ControlHarness.Result notAMap = appliance.ddsetup(null, "multipath", "-ll", "plain");
        assertEquals(1, notAMap.exit());
        assertEquals("ddsetup: device 'plain' has no multipath target: Invalid argument\n", notAMap.stderr());
        ControlHarness.Result badView = appliance.ddsetup(null, "multipath", "show", "daemon");
        assertEquals(1, badView.exit());
        assertTrue(badView.stderr().startsWith("ddsetup: multipath show: unknown view 'daemon' (expected topology or paths): Invalid argument\n"),
                badView.stderr());
        Exception e = assertThrows(Exception.class, () -> console("dm:multipath -ll nosuch"));
        assertEquals("no device named 'nosuch'", e.getMessage());
    }
}
