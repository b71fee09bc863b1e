package org.ddmapper.api.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.ddmapper.api.Errno;
import org.junit.jupiter.api.Test;

/** Command lines run against a device manager: dmsetup's text, its walk through several devices, and its errors. */
class CliTest {
    final FakeManager manager = new FakeManager();
    final Cli cli = new Cli(manager, () -> "version text\n", "ddsetup");

    private Cli.Result run(String... argv) { return cli.run(List.of(argv)); }

    private String out(String... argv) {
        Cli.Result r = run(argv);
        assertEquals(0, r.exit(), String.join(" ", argv) + ": " + r.err());
        assertEquals("", r.err());
        return r.out();
    }

    private void devices() {
        manager.create("b", "0 8 zero");
        manager.create("a", "0 16 linear /d/x 0\n16 8 linear /d/y 0\n24 8 linear /d/x 8");
        manager.create("n", "");
    }

    @Test
    void infoPrintsDmsetupsBlockForEachDeviceAndStopsAtTheFirstMissingOne() {
        devices();
        String a = """
                Name:              a
                State:             ACTIVE
                Read Ahead:        256
                Tables present:    LIVE
                Open count:        0
                Event number:      0
                Major, minor:      0, 2
                Number of targets: 3

                """;
        String n = """
                Name:              n
                State:             ACTIVE
                Tables present:    None
                Open count:        0
                Event number:      0
                Major, minor:      0, 3
                Number of targets: 0

                """;
        assertEquals(a + n, out("info", "a", "n"));
        Cli.Result r = run("info", "a", "nope", "n");
        assertEquals(1, r.exit());
        assertEquals(a, r.out(), "what came before the failure is printed");
        assertEquals("ddsetup: no device named 'nope': No such device or address\n", r.err());
        assertEquals(Errno.ENXIO, r.failure().errno());
        assertTrue(out("info").startsWith(a), "every device, by name");
    }

    @Test
    void statusAndTableKeepTheBlankAfterTheTypeAndPrefixNamesWhenSeveralDevicesShow() {
        devices();
        assertEquals("0 8 zero \n", out("status", "b"));
        assertEquals("0 16 linear /d/x 0\n16 8 linear /d/y 0\n24 8 linear /d/x 8\n", out("table", "a"));
        assertEquals("b: 0 8 zero \nn: \n", out("status", "b", "n"));
        assertEquals("\n", out("table", "n"), "a device without a table: one empty line");
        assertEquals("a: 0 16 linear \na: 16 8 linear \na: 24 8 linear \nb: 0 8 zero \nn: \n", out("status"));
        assertEquals("b: 0 8 zero \n", out("table", "--target", "zero"));
        assertEquals("", out("table", "--target", "zero", "a"), "no target of that type: nothing at all");
        assertEquals("\n", out("table", "--inactive", "b"));
        manager.load(org.ddmapper.api.DeviceRef.of("b"), "0 100 zero");
        assertEquals("0 100 zero \n", out("status", "--inactive", "b"));
    }

    @Test
    void lsDepsAndTheTreeShowReferencesAsWrittenInTheKernelsOrder() {
        devices();
        manager.create("top", "0 8 linear dm:a 0\n8 8 linear /d/z 0\n16 8 linear dm:b 0");
        assertEquals("a\t(0:2)\nb\t(0:1)\nn\t(0:3)\ntop\t(0:4)\n", out("ls"));
        assertEquals("a\t(0, 2)\ntop\t(0, 4)\n", out("ls", "--target", "linear"));
        assertEquals("2 dependencies\t: (/d/y) (/d/x)\n", out("deps", "a"));
        assertEquals("a: 2 dependencies\t: (/d/y) (/d/x)\nn: 0 dependencies\t:\n", out("deps", "a", "n"));
        assertEquals("""
                n (0:3)
                top (0:4)
                 |-b (0:1)
                 |- (/d/z)
                 `-a (0:2)
                    |- (/d/y)
                    `- (/d/x)
                """, out("ls", "--tree"));
        assertEquals("No devices found\n", new Cli(new FakeManager(), () -> "", "x").run(List.of("ls")).out());
    }

    @Test
    void theColumnReportAlignsAsLibdevmapperAndSortsAndSeparatesOnRequest() {
        devices();
        assertEquals("""
                Name             Maj Min Stat Open Targ Event  UUID                            \s
                a                  0   2 L--w    0    3      0                                 \s
                b                  0   1 L--w    0    1      0                                 \s
                n                  0   3 ---w    0    0      0                                 \s
                """.replace("\s\n", "\n"), out("info", "-c"));
        assertEquals("b:0:1:L--w:0:1:0:\nn:0:3:---w:0:0:0:\n", out("info", "-c", "--noheadings", "b", "n"));
        assertEquals("Name             Event \nn                     0\nb                     0\n", out("info", "-C", "-o", "name,events", "--sort", "-name", "b", "n"));
        assertEquals("Name|Tables\nb|Live\n", out("info", "--columns", "-oname,tables_loaded", "--separator", "|", "b"));
        assertEquals("Name             DevNamesUsed     RefNames #Refs\na" + " ".repeat(46) + "0\n",
                out("info", "-c", "-o", "name,devs_used,names_using_dev,device_ref_count", "a"));
        Cli.Result r = run("info", "-c", "-o", "name,blkdevname");
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("ddsetup: field 'blkdevname' is not available: ddmapper's devices are not kernel block devices"), r.err());
        assertTrue(r.err().contains("Mapped Device Information Fields\n"), "the field list follows");
    }

    @Test
    void removeGoesThroughItsNamesInOrderAndStopsAtTheFirstFailureAsDmsetupDoes() {
        devices();
        assertEquals("", out("remove", "a", "b"));
        assertEquals(List.of("n"), List.copyOf(manager.devices.keySet()));
        manager.create("a", "0 8 zero");
        manager.create("b", "0 8 zero");
        Cli.Result r = run("remove", "a", "nope", "b");
        assertEquals(1, r.exit());
        assertTrue(manager.devices.containsKey("b"), "b comes after the failure and stays, as with dmsetup");
        assertTrue(!manager.devices.containsKey("a"));
        manager.devices.get("b").openCount = 1;
        manager.create("c", "0 8 zero");
        r = run("remove_all");
        assertEquals(1, r.exit());
        assertEquals("ddsetup: device 'b' is open (1 opener); remove --force replaces its table with error, failing its I/O: "
                + "Device or resource busy\n", r.err());
        assertEquals(List.of("b"), List.copyOf(manager.devices.keySet()), "the others went");
        manager.devices.get("b").openCount = 0;
        assertEquals("", out("remove_all", "--force"));
        assertTrue(manager.devices.isEmpty());
    }

    @Test
    void removeForceOfAnOpenDeviceReplacesItsTableWithErrorAndKeepsItAsDmsetupDoes() {
        manager.create("x", "0 16 linear /d/x 0\n16 8 zero");
        manager.devices.get("x").openCount = 1;
        Cli.Result r = run("remove", "--force", "x");
        assertEquals(1, r.exit());
        assertEquals("ddsetup: device 'x' is open (1 opener): its table was replaced with error, so its I/O fails; it can go once closed: "
                + "Device or resource busy\n", r.err());
        assertEquals("0 24 error \n", out("table", "x"));
        assertEquals(List.of("create x", "resume x", "remove x"), manager.calls.subList(manager.calls.size() - 3, manager.calls.size()));
        manager.devices.get("x").openCount = 0;
        assertEquals("", out("remove", "-f", "x"));
        assertTrue(manager.devices.isEmpty());
    }

    @Test
    void suspendAndResumeTakeSeveralNamesAndTheFlagsDmsetupAccepts() {
        devices();
        assertEquals("", out("suspend", "--noflush", "--nolockfs", "a", "b"));
        assertEquals("", out("resume", "--noudevsync", "a", "b"));
        assertEquals(List.of("suspend a noflush", "suspend b noflush", "resume a", "resume b"),
                manager.calls.subList(manager.calls.size() - 4, manager.calls.size()));
        assertEquals("", out("reload", "a", "--table", "0 8 zero"));
        assertEquals("0 8 zero \n", out("table", "--inactive", "a"));
        assertEquals("", out("mknodes"));
    }

    @Test
    void messagesPrintTheAnswerOnItsOwnLineAndCommandsThatNeedTheCallerAreRefusedHere() {
        devices();
        assertEquals("got fail_path /d/x\n", out("message", "a", "0", "fail_path", "/d/x"));
        for (String[] argv : new String[][] {{"create", "c", "t.table"}, {"load", "a"}, {"wait", "a"}, {"events", "a"},
                {"upgrade", "b", "x.jar"}, {"message", "a", "0", "x", "--pass-fd", "3"}}) {
            Cli.Result r = run(argv);
            assertEquals(1, r.exit(), String.join(" ", argv));
            assertEquals(Errno.EOPNOTSUPP, r.failure().errno(), String.join(" ", argv));
        }
        assertEquals("", out("create", "t"), "no source and (as far as the Cli knows) a terminal: an empty device");
        assertEquals("version text\n", out("version"));
    }

    @Test
    void usageErrorsNameTheWordAndExitOneWithTheUsage() {
        Cli.Result r = run("frobnicate");
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("ddsetup: unknown verb 'frobnicate': Invalid argument\nusage: ddsetup"), r.err());
        r = run("status", "--inactive", "--target");
        assertTrue(r.err().startsWith("ddsetup: --target needs a value: Invalid argument\n"), r.err());
        assertNull(run("help").failure());
    }

    @Test
    void statsShowsEachDeviceAndWhatItUsesAndStopsAtAMissingOne() {
        devices();
        String a = out("stats", "a");
        assertTrue(a.startsWith("a\n  DEVICE "), a);
        assertTrue(a.contains("\n    /d/y "), a);
        assertTrue(a.contains("\n    /d/x "), a);
        assertTrue(!a.contains("LATENCY"), "no histogram rows without requests: " + a);
        assertEquals(out("stats", "a") + out("stats", "b") + out("stats", "n"), out("stats"), "every device, by name");
        Cli.Result r = run("stats", "b", "nope");
        assertEquals(1, r.exit());
        assertEquals(out("stats", "b"), r.out());
        assertEquals("ddsetup: no device named 'nope': No such device or address\n", r.err());
        manager.devices.clear();
        assertEquals("No devices found\n", out("stats"));
    }
}
