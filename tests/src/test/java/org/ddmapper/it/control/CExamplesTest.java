package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.ddmapper.api.DeviceRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.EventStream;

/** examples/c built with plain cc (no library) and run against a live appliance. */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CExamplesTest {
    @TempDir
    static Path dir;
    ControlHarness appliance;
    Path ddtest;
    Path ddfork;

    @BeforeAll
    void start() throws Exception {
        ddtest = ControlHarness.compile("ddtest", dir);
        ddfork = ControlHarness.compile("ddfork", dir);
        appliance = ControlHarness.start();
    }

    @AfterAll
    void stop() {
        if (appliance != null) appliance.close();
    }

    private ControlHarness.Result ddtest(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(ddtest.toString(), appliance.socket.toString()));
        cmd.addAll(List.of(args));
        return ControlHarness.run(cmd, null, 20);
    }

    /** What ddtest prints for a reply: its header line, then the payload. */
    private static String reply(int op, int status, String payload) {
        return "reply op=" + op + " tag=1 status=" + status + " length=" + payload.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                + "\n" + payload;
    }

    @Test
    void ddtestWritesARequestAndPrintsTheReply() throws Exception {
        ControlHarness.Result version = ddtest("version");
        assertEquals(0, version.exit(), version.stderr());
        assertTrue(version.stdout().startsWith("reply op=1 tag=1 status=0 length="), version.stdout());
        assertTrue(version.stdout().contains("\nprotocol 1, max item 196608 bytes, max fds 4\nLibrary version:   ddmapper-api "), version.stdout());

        assertEquals(0, ddtest("create", "c0", "0 16 echo").exit());
        assertEquals(reply(11, 0, "0 16 echo messages 0\n"), ddtest("status", "c0").stdout());
        ControlHarness.Result msg = ddtest("message", "c0", "@0", "hello from C");
        assertEquals(reply(17, 0, "echo hello from C binary 0 fds 0") + "\n", msg.stdout());
        assertEquals(0, ddtest("remove", "c0").exit());

        ControlHarness.Result missing = ddtest("status", "c0");
        assertEquals(1, missing.exit());
        assertEquals(reply(11, -6, "no device named 'c0'") + "\n", missing.stdout());
        assertEquals("ddtest: No such device or address: no device named 'c0'\n", missing.stderr());

        ControlHarness.Result unknown = ddtest("raw", "77");
        assertEquals(1, unknown.exit());
        assertEquals(reply(77, -95, "unknown op 77") + "\n", unknown.stdout());
    }

    @Test
    void ddforkChildPollsTheLinkWhileTheParentTriggersEvents() throws Exception {
        appliance.manager.create("f0", "0 8 zero");
        long id = appliance.manager.info(DeviceRef.of("f0")).id();
        long before = EventStream.position(appliance.manager, DeviceRef.of("f0"));
        try {
            ControlHarness.Result r = ControlHarness.run(List.of(ddfork.toString(), appliance.socket.toString(), "f0", "4"), null, 60);
            assertEquals(0, r.exit(), r.stdout() + r.stderr());
            assertTrue(r.stdout().startsWith("linked to f0 (device " + id + ") on fd "), r.stdout());
            Matcher empty = Pattern.compile("empty read: EAGAIN after (\\d+) us").matcher(r.stdout());
            assertTrue(empty.find(), r.stdout());
            assertTrue(Long.parseLong(empty.group(1)) < 100_000, "an empty read returns at once: " + empty.group(1) + " us");
            List<String> events = r.stdout().lines().filter(l -> l.startsWith("child: event")).toList();
            assertEquals(4, events.size(), r.stdout());
            assertTrue(events.get(0).startsWith("child: event " + (before + 1) + " of device " + id + " target -1: f0 " + (before + 1) + " suspended"),
                    events.get(0));
            assertTrue(events.get(1).contains(" resumed"), events.get(1));
            assertTrue(r.stdout().endsWith("child saw every event\n"), r.stdout());
        } finally {
            appliance.manager.remove(DeviceRef.of("f0"), true);
        }
    }
}
