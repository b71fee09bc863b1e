package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Errno;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Item;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadReader;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** ddlink's CLI op: a whole command line run in the server, the reply's layout, what it hands back to the caller, and read-only peers. */
@Timeout(30)
class CliOpTest {
    @TempDir
    Path dir;
    ServerFixture fixture;
    DdlinkClient client;

    @BeforeEach
    void start() throws Exception {
        fixture = new ServerFixture(dir);
        client = fixture.client();
    }

    @AfterEach
    void stop() {
        client.close();
        fixture.close();
    }

    record Reply(int exit, String out, String err) {}

    private static byte[] argv(String... args) {
        PayloadWriter w = new PayloadWriter();
        for (String a : args) w.text(a).nul();
        return w.toBytes();
    }

    private Item raw(int flags, String... args) throws Exception {
        return client.call(Op.CLI, flags, argv(args));
    }

    private Reply cli(int flags, String... args) throws Exception {
        Item item = raw(flags, args);
        assertEquals(0, item.status(), item.text());
        PayloadReader p = new PayloadReader(Op.CLI, item.payload());
        int exit = p.u32("exit");
        int outBytes = p.u32("stdout bytes");
        byte[] rest = p.rest();
        return new Reply(exit, new String(rest, 0, outBytes, StandardCharsets.UTF_8),
                new String(rest, outBytes, rest.length - outBytes, StandardCharsets.UTF_8));
    }

    private Reply cli(String... args) throws Exception { return cli(0, args); }

    @Test
    void aCommandLineRunsHereAndTheReplyCarriesItsOutputAndStatus() throws Exception {
        assertEquals(new Reply(0, "", ""), cli("create", "a", "--table", "0 8 zero\n8 8 echo"));
        assertEquals(new Reply(0, "0 8 zero \n8 8 echo \n", ""), cli("table", "a"));
        assertEquals(new Reply(0, "a\t(0:1)\n", ""), cli("ls"));
        assertEquals(new Reply(0, "target 1 got ping binary 0 fds 0 tag 0\n", ""), cli("message", "a", "@1", "ping"));
        assertEquals(new Reply(1, "", "ddsetup: no device named 'b': No such device or address\n"), cli("status", "b"));
        Reply usage = cli("frob");
        assertEquals(1, usage.exit());
        assertTrue(usage.err().startsWith("ddsetup: unknown verb 'frob': Invalid argument\nusage: ddsetup"), usage.err());
        assertEquals(new Reply(0, "", ""), cli("--noudevsync", "remove", "a"));
        assertEquals(0, fixture.manager.list().size());
    }

    @Test
    void whatNeedsTheCallerIsHandedBackAsEopnotsuppAndChangesNothing() throws Exception {
        for (String[] argv : List.of(new String[] {"create", "s"}, new String[] {"create", "s", "-"}, new String[] {"load", "s", "t.table"},
                new String[] {"wait", "s"}, new String[] {"events", "s"}, new String[] {"upgrade", "b", "x.jar"},
                new String[] {"message", "s", "0", "x", "--pass-fd", "0"})) {
            Item item = raw(0, argv);
            assertEquals(-Errno.EOPNOTSUPP.code(), item.status(), String.join(" ", argv));
            assertTrue(item.text().startsWith("CLI: "), item.text());
        }
        assertEquals(0, fixture.manager.list().size());
        assertEquals(new Reply(0, "", ""), cli(Ddlink.FLAG_STDIN_TERMINAL, "create", "s"), "from a terminal: an empty device, as dmsetup");
        assertEquals("None", fixture.manager.info(DeviceRef.of("s")).tablesPresent());
    }

    @Test
    void malformedItemsAreRefusedWithTheirReason() throws Exception {
        Item item = client.call(Op.CLI, 0, new PayloadWriter().text("ls").toBytes());
        assertEquals(-Errno.EINVAL.code(), item.status());
        assertEquals("CLI: argument 0 does not end with a NUL byte", item.text());
        item = client.call(Op.CLI, 2, argv("ls"));
        assertEquals(-Errno.EINVAL.code(), item.status());
        item = client.call(Op.CLI, 0, new byte[] {(byte) 0xff, 0});
        assertEquals(-Errno.EINVAL.code(), item.status());
        assertEquals("CLI: argument 0 is not valid UTF-8", item.text());
        assertEquals(1, cli().exit(), "no words at all: a usage error");
    }

    @Test
    void aReadOnlyPeerMayReadButEveryVerbThatChangesStateIsRefused() throws Exception {
        fixture.manager.create("d", "0 8 zero");
        fixture.server.accessPolicy(cred -> Access.READ_ONLY);
        try (DdlinkClient reader = fixture.client()) {
            client.close();
            client = reader;
            assertEquals(new Reply(0, "d\t(0:1)\n", ""), cli("ls"));
            assertEquals(new Reply(0, "0 8 zero \n", ""), cli("status", "d"));
            for (String[] argv : List.of(new String[] {"remove", "d"}, new String[] {"suspend", "d"}, new String[] {"message", "d", "0", "x"},
                    new String[] {"create", "e", "--table", "0 8 zero"}, new String[] {"remove_all"})) {
                Reply r = cli(argv);
                assertEquals(1, r.exit(), String.join(" ", argv));
                assertTrue(r.err().contains("may only use read-only verbs") && r.err().endsWith(": Permission denied\n"), r.err());
            }
            assertEquals(List.of("d"), fixture.manager.list().stream().map(i -> i.name()).toList());
            assertEquals("ACTIVE", fixture.manager.info(DeviceRef.of("d")).state());
        }
    }
}
