package org.ddmapper.control.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.ddmapper.spi.testkit.MemoryDeviceManager;
import org.ddmapper.control.internal.DdlinkServer;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.control.unix.TestFds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's argument handling, run in-process against a server over the in-memory device manager. */
@Timeout(30)
class DdsetupTest {
    @TempDir
    Path dir;
    MemoryDeviceManager manager = new MemoryDeviceManager();
    DdlinkServer server;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Ddsetup.Stdin stdin = new Ddsetup.Stdin(java.io.InputStream.nullInputStream(), false);

    @BeforeEach
    void start() throws Exception {
        server = new DdlinkServer(manager, dir.resolve("c.sock"), null, "v\n");
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private int run(String... args) {
        out.reset();
        err.reset();
        String[] all = new String[args.length + 2];
        all[0] = "--socket";
        all[1] = dir.resolve("c.sock").toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return new Ddsetup(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), stdin).run(all);
    }

    @Test
    void usageErrorsExitOneAsDmsetupWithTheReasonFirst() {
        assertEquals(1, run());
        assertTrue(err.toString().startsWith("ddsetup: missing verb: Invalid argument\nusage: ddsetup"), err.toString());
        assertEquals(1, run("suspend"));
        assertTrue(err.toString().startsWith("ddsetup: suspend: missing device name: Invalid argument\n"));
        assertEquals(1, run("status", "--foo", "a"));
        assertTrue(err.toString().startsWith("ddsetup: unknown option --foo: Invalid argument\n"), err.toString());
        assertEquals(1, run("status", "--force", "a"));
        assertTrue(err.toString().startsWith("ddsetup: status takes no --force: Invalid argument\n"), err.toString());
        assertEquals(1, run("create", "-u", "x", "a"));
        assertTrue(err.toString().startsWith("ddsetup: -u is not supported: ddmapper's devices have no UUID: Invalid argument\n"), err.toString());
        assertEquals(1, run("wait", "a", "12x"));
        assertTrue(err.toString().startsWith("ddsetup: invalid event number '12x': Invalid argument\n"));
        assertEquals(1, run("message", "a", "0", "x", "--pass-fd", "3", "--pass-unix", "/x"));
        assertTrue(err.toString().startsWith("ddsetup: message: give at most one of --pass-fd, --pass-connect, --pass-unix: Invalid argument\n"));
        assertEquals(1, run("message", "a", "x1", "hello"));
        assertTrue(err.toString().startsWith("ddsetup: invalid message target 'x1': expected a sector number or @INDEX: Invalid argument\nusage: ddsetup"),
                err.toString());
        assertEquals(1, run("message", "a", "@x", "hello"));
        assertTrue(err.toString().startsWith("ddsetup: invalid message target '@x'"), err.toString());
        assertEquals(1, run("upgrade", "b", "x\0.jar"));
        assertEquals(1, run("message", "a", "0", "hi", "--pass-fd", "three"));
        assertTrue(err.toString().startsWith("ddsetup: invalid descriptor 'three': Invalid argument\n"), err.toString());
        assertEquals(0, server.connectionCount(), "argument errors are found before connecting");
    }

    private static Ddsetup.Stdin piped(String text) {
        return new Ddsetup.Stdin(new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), false);
    }

    @Test
    void createAndLoadWithoutATableReadStdinUnlessItIsATerminalOrNotableIsGiven() {
        stdin = piped("0 8 zero\n8 8 echo\n");
        assertEquals(0, run("create", "s"), err.toString());
        assertEquals(0, run("table", "s"));
        assertEquals("0 8 zero \n8 8 echo \n", out.toString());

        java.io.ByteArrayInputStream unread = new java.io.ByteArrayInputStream("0 8 zero\n".getBytes(StandardCharsets.UTF_8));
        stdin = new Ddsetup.Stdin(unread, false);
        assertEquals(0, run("create", "--notable", "n"), err.toString());
        assertEquals(9, unread.available(), "--notable leaves stdin unread");
        assertEquals(0, run("info", "n"));
        assertTrue(out.toString().contains("Tables present:    None\n"), out.toString());

        stdin = new Ddsetup.Stdin(unread, true);
        assertEquals(0, run("create", "t"), err.toString());
        assertEquals(9, unread.available(), "a terminal is not read: an empty device, as with --notable");
        assertEquals(0, run("table", "t"));
        assertEquals("\n", out.toString(), "no live table: dmsetup's empty line");

        stdin = piped("");
        assertEquals(0, run("create", "e"), err.toString());
        assertEquals(0, run("table", "e"));
        assertEquals("\n", out.toString(), "an empty stdin is no table");

        stdin = piped("0 16 zero\n");
        assertEquals(0, run("load", "e"), err.toString());
        assertEquals(0, run("table", "--inactive", "e"));
        assertEquals("0 16 zero \n", out.toString());

        assertEquals(1, run("create", "x", "--notable", "--table", "0 8 zero"));
        assertTrue(err.toString().startsWith("ddsetup: create: give one table source (--table, --notable, a file or -): Invalid argument\n"), err.toString());
        assertEquals(1, run("create", "x", "--notable", "x.table"));
        assertTrue(err.toString().startsWith("ddsetup: create: give one table source (--table, --notable, a file or -): Invalid argument\n"), err.toString());
        assertEquals(4, manager.list().size());
    }

    @Test
    void upgradeSendsTheBundleAndAnAbsoluteJarPathAndPrintsTheReportOrTheSentence() {
        assertEquals(1, run("upgrade"));
        assertTrue(err.toString().startsWith("ddsetup: upgrade: missing bundle symbolic name: Invalid argument\n"), err.toString());
        assertEquals(1, run("upgrade", "org.ddmapper.target.linear"));
        assertTrue(err.toString().startsWith("ddsetup: upgrade: missing jar file: Invalid argument\n"), err.toString());
        assertEquals(1, run("upgrade", "b", "x.jar", "extra"));
        assertTrue(err.toString().startsWith("ddsetup: upgrade: unexpected 'extra': Invalid argument\n"), err.toString());

        assertEquals(1, run("upgrade", "org.ddmapper.target.linear", "x.jar"));
        assertEquals("ddsetup: live upgrade is not available: the core offers no upgrade service: Function not implemented\n", err.toString());

        java.util.List<String> asked = new java.util.ArrayList<>();
        server.upgrades(() -> new org.ddmapper.api.BundleUpgrades() {
            @Override public org.ddmapper.api.UpgradeReport upgrade(String bundle, Path jar) {
                asked.add(bundle + " " + jar);
                if (bundle.equals("busy")) throw new org.ddmapper.api.DmException(org.ddmapper.api.Errno.EBUSY, "an upgrade of x is running");
                return new org.ddmapper.api.UpgradeReport(bundle, "0.1.0", "0.1.1", java.util.List.of("v0", "v1"), 37, 120);
            }

            @Override public org.ddmapper.api.UpgradeReport revert(String bundle) {
                asked.add("revert " + bundle);
                if (bundle.equals("none")) throw new org.ddmapper.api.DmException(org.ddmapper.api.Errno.ENOENT, "nothing to revert");
                return new org.ddmapper.api.UpgradeReport(bundle, "0.1.1", "0.1.0", java.util.List.of("v0"), 5, 90);
            }

            @Override public java.util.List<org.ddmapper.api.StoredBundle> stored() {
                return java.util.List.of(new org.ddmapper.api.StoredBundle("b", "0.1.0", "0.1.2", java.util.List.of(
                        new org.ddmapper.api.StoredBundle.Version("0.1.3", org.ddmapper.api.StoredBundle.Status.SET_ASIDE, "0.1.2", "0.1.0",
                                "2026-12-07T17:46:30Z", "it does not start"),
                        new org.ddmapper.api.StoredBundle.Version("0.1.2", org.ddmapper.api.StoredBundle.Status.CURRENT, "0.1.0", "0.1.0",
                                "2026-12-07T17:40:01Z", ""))));
            }

            @Override public void setAsideAtBoot(String bundle, String version, String reason) {
                throw new AssertionError("ddsetup never sets aside");
            }
        });
        assertEquals(0, run("upgrade", "org.ddmapper.target.linear", "x.jar"), err.toString());
        assertEquals("upgraded org.ddmapper.target.linear 0.1.0 -> 0.1.1 (2 devices, max stall 37 ms)\n", out.toString());
        assertEquals("org.ddmapper.target.linear " + Path.of("x.jar").toAbsolutePath(), asked.get(0));
        assertEquals(1, run("upgrade", "busy", "/x.jar"));
        assertEquals("ddsetup: an upgrade of x is running: Device or resource busy\n", err.toString());

        assertEquals(0, run("upgrade", "--list"), err.toString());
        assertEquals("b image 0.1.0 running 0.1.2\n  0.1.3 set-aside 2026-12-07T17:46:30Z from 0.1.2: it does not start\n"
                + "  0.1.2 current 2026-12-07T17:40:01Z from 0.1.0\n", out.toString());
        assertEquals(0, run("upgrade", "--revert", "b"), err.toString());
        assertEquals("reverted b 0.1.1 -> 0.1.0 (1 device, max stall 5 ms)\n", out.toString());
        assertEquals("revert b", asked.get(asked.size() - 1));
        assertEquals(1, run("upgrade", "--revert", "none"));
        assertEquals("ddsetup: nothing to revert: No such file or directory\n", err.toString());
        assertEquals(1, run("upgrade", "--revert"));
        assertTrue(err.toString().startsWith("ddsetup: --revert needs a value: Invalid argument\n"), err.toString());
        assertEquals(1, run("upgrade", "--list", "extra"));
        assertTrue(err.toString().startsWith("ddsetup: upgrade: unexpected 'extra': Invalid argument\n"), err.toString());
    }

    @Test
    void repeatedTableOptionsMakeOneTableAndPassFdHandsOverTheCallersDescriptor() throws Exception {
        assertEquals(0, run("create", "d", "--table", "0 8 zero", "--table", "8 8 echo"));
        assertEquals("", out.toString() + err.toString());
        assertEquals(0, run("table", "d"));
        assertEquals("0 8 zero \n8 8 echo \n", out.toString());
        int[] pair = TestFds.streamPair();
        try {
            assertEquals(0, run("message", "d", "@1", "take-fd", "--pass-fd", Integer.toString(pair[0])), err.toString());
            assertEquals("target 1 got take-fd binary 0 fds 1 tag 1\n", out.toString());
            assertEquals(1, manager.adoptedFds.size());
            assertTrue(TestFds.isOpen(pair[0]), "the caller keeps its own descriptor");
        } finally {
            Fds.close(pair[0]);
            Fds.close(pair[1]);
            manager.adoptedFds.forEach(Fds::close);
        }
        assertEquals(0, run("remove", "d"));
        assertEquals(0, manager.list().size());
        assertEquals(1, run("remove", "d"));
        assertEquals("ddsetup: no device named 'd': No such device or address\n", err.toString());
    }

    @Test
    void waitReturnsOnceTheEventNumberPassedAndWithVerbosePrintsTheInfo() {
        assertEquals(0, run("create", "w", "--table", "0 8 zero"), err.toString());
        long nr = manager.info(org.ddmapper.api.DeviceRef.of("w")).eventNr();
        assertEquals(0, run("wait", "w", Long.toString(nr - 1)), err.toString());
        assertEquals("", out.toString(), "without -v wait prints nothing, as dmsetup");
        assertEquals(0, run("wait", "-v", "w", "0"), err.toString());
        assertEquals(org.ddmapper.api.text.DmText.info(manager.info(org.ddmapper.api.DeviceRef.of("w"))), out.toString());
        assertTrue(out.toString().startsWith("Name:              w\n"), out.toString());
        assertEquals(1, run("wait", "nosuch"));
        assertEquals("ddsetup: no device named 'nosuch': No such device or address\n", err.toString());
    }

    @Test
    void multipathAsksTheServerForTheViewAndRefusesUnknownWords() {
        assertEquals(0, run("multipath", "-ll"));
        assertEquals("No multipath maps found\n", out.toString());
        assertEquals(0, run("multipath", "show", "paths"));
        assertEquals("No multipath maps found\n", out.toString());
        assertEquals(1, run("multipath", "show", "maps"));
        assertTrue(err.toString().startsWith("ddsetup: multipath show: unknown view 'maps' (expected topology or paths): Invalid argument\n"), err.toString());
        assertEquals(1, run("multipath", "-ll", "a", "b"));
        assertTrue(err.toString().startsWith("ddsetup: multipath: unexpected 'b'"), err.toString());
        assertEquals(1, run("multipath", "-ll", "nosuch"));
        assertEquals("ddsetup: no device named 'nosuch': No such device or address\n", err.toString());
    }
}
