package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.ddmapper.it.support.Appliance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distribution as an operator runs it: bin/ddmapper booted in a child process, driven with
 * bin/ddsetup and with the C examples built by plain cc.
 */
@Timeout(180)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApplianceTest {
    @TempDir
    static Path dir;
    Appliance appliance;
    Path pathA;
    Path pathB;

    @BeforeAll
    void start() throws Exception {
        appliance = Appliance.start();
        pathA = Files.write(dir.resolve("a.img"), new byte[4096 * 512]);
        pathB = Files.write(dir.resolve("b.img"), new byte[4096 * 512]);
    }

    @AfterAll
    void stop() throws Exception {
        if (appliance != null) {
            appliance.stop();
            appliance.close();
        }
    }

    private String ok(String... args) throws Exception {
        Appliance.Exit r = appliance.ddsetup(args);
        assertEquals(0, r.code(), String.join(" ", args) + "\n" + r);
        assertEquals("", r.stderr(), String.join(" ", args));
        return r.stdout();
    }

    @Test
    void theControlSocketIsOwnerOnlyInTheHome() throws Exception {
        assertEquals(appliance.home().resolve("run").resolve("control.sock"), appliance.controlSocket());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(appliance.controlSocket())));
    }

    @Test
    void ddsetupCreateLoadResumeStatusMessageRemoveOnAMultipathDevice() throws Exception {
        assertEquals("", ok("create", "mp"));
        assertTrue(ok("info", "mp").contains("Tables present:    None\n"));
        String table = "0 4096 multipath 0 0 1 1 round-robin 0 2 1 " + pathA + " 1 " + pathB + " 1";
        assertEquals("", ok("load", "mp", "--table", table));
        assertEquals(table + " \n", ok("table", "--inactive", "mp"), "6.1 ends a multipath table with a blank");
        assertEquals("", ok("resume", "mp"));
        String status = ok("status", "mp");
        assertTrue(status.matches("0 4096 multipath .*" + pathA + " A 0 .*" + pathB + " A 0.*\n"), status);
        assertEquals("2 dependencies\t: (" + pathB + ") (" + pathA + ")\n", ok("deps", "mp"), "the kernel's order");

        assertEquals("", ok("message", "mp", "0", "fail_path", pathA.toString()));
        // failed once (F 1); the path monitor checks it within a polling interval (5 s) and, finding it
        // healthy, reinstates it (A 1), as multipathd does: on a loaded machine that can happen before
        // the next ddsetup has started, so either state counts, the fail count must be 1
        String failed = ok("status", "mp");
        assertTrue(failed.matches("0 4096 multipath .*" + pathA + " [FA] 1 .*" + pathB + " A 0.*\n"), failed);
        assertTrue(ok("info", "mp").matches("(?s).*Event number:      [12]\n.*"),
                "the path failure is an event the kernel counts (and the monitor's reinstatement, if it came already); create, load and resume are not");
        long history;
        try (var client = org.ddmapper.control.ddlink.DdlinkClient.connect(appliance.controlSocket())) {
            history = new String(client.callOk(org.ddmapper.control.ddlink.Op.EVENTS, 0,
                    new org.ddmapper.control.ddlink.PayloadWriter().u64(0).text("mp").toBytes())).lines().count();
        }
        String events = ok("events", "mp", "--count", Long.toString(history)).lines().filter(l -> l.contains("path_failed")).findFirst().orElse("");
        assertTrue(events.startsWith("mp ") && events.contains(" path_failed target=0 ") && events.contains("path=" + pathA), events);

        Appliance.Exit wrong = appliance.ddsetup("message", "mp", "@0", "no_such_verb");
        assertEquals(1, wrong.code());
        assertEquals(1, wrong.stderr().lines().count(), wrong.stderr());
        assertTrue(wrong.stderr().startsWith("ddsetup: multipath: "), wrong.stderr());

        assertEquals("", ok("remove", "mp"));
        assertTrue(ok("ls").lines().noneMatch(l -> l.startsWith("mp\t")));
    }

    @Test
    void theCExamplesRunAgainstTheAppliance() throws Exception {
        Path ddtest = ControlHarness.compile("ddtest", dir);
        Path ddfork = ControlHarness.compile("ddfork", dir);
        String socket = appliance.controlSocket().toString();
        ControlHarness.Result version = ControlHarness.run(List.of(ddtest.toString(), socket, "version"), null, 20);
        assertEquals(0, version.exit(), version.stderr());
        assertTrue(version.stdout().contains("protocol 1, max item 196608 bytes, max fds 4\n"), version.stdout());

        ControlHarness.Result create = ControlHarness.run(List.of(ddtest.toString(), socket, "create", "cz", "0 64 zero"), null, 20);
        assertEquals("reply op=3 tag=1 status=0 length=0\n", create.stdout());
        ControlHarness.Result fork = ControlHarness.run(List.of(ddfork.toString(), socket, "cz", "4"), null, 60);
        assertEquals(0, fork.exit(), fork.stdout() + fork.stderr());
        assertEquals(4, fork.stdout().lines().filter(l -> l.startsWith("child: event ")).count(), fork.stdout());
        assertTrue(fork.stdout().contains("empty read: EAGAIN after "), fork.stdout());
        ControlHarness.Result remove = ControlHarness.run(List.of(ddtest.toString(), socket, "remove", "cz"), null, 20);
        assertEquals(0, remove.exit(), remove.stdout() + remove.stderr());
    }
}
