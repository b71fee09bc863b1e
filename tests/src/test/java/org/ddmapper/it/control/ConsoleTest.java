package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.it.support.GogoSession;
import org.ddmapper.it.support.Waits;
import org.ddmapper.api.Message;
import org.ddmapper.api.TargetRef;
import org.ddmapper.control.ddlink.Ddlink;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.EventStream;

/**
 * The dm: Gogo commands, run headless through the CommandProcessor service of a live Felix,
 * their output compared with what the control socket gives ddsetup for the same state.
 */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleTest {
    @TempDir
    static Path dir;
    ControlHarness appliance;
    GogoSession gogo;

    @BeforeAll
    void start() throws Exception {
        appliance = ControlHarness.start();
        gogo = GogoSession.open(appliance.fw, "(osgi.command.scope=dm)");
        Waits.await("all ten dm: command classes", () -> {
            try {
                return commandsRegistered();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private boolean commandsRegistered() throws Exception {
        var refs = appliance.fw.context().getAllServiceReferences(null, "(osgi.command.scope=dm)");
        return refs != null && refs.length == 10;
    }

    @AfterAll
    void stop() {
        if (appliance != null) appliance.close();
    }

    /** Runs a console command line and returns what it printed. */
    private String console(String line) throws Exception {
        return gogo.printed(line);
    }

    /** What a command line returns: the text the console shows for a command that returns its answer (gogo's help). */
    private String result(String line) throws Exception {
        return gogo.result(line);
    }

    /** What the control socket answers ddsetup for the same verb. */
    private String socket(Op op, int flags, String payload) throws Exception {
        try (DdlinkClient c = appliance.client()) {
            return new String(c.callOk(op, flags, PayloadWriter.of(payload)), StandardCharsets.UTF_8);
        }
    }

    @Test
    void everyVerbPrintsWhatDdsetupPrints() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), new byte[64 * 512]);
        assertEquals("", console("dm:create --table \"0 64 linear " + a + " 0\" k0"));
        Path table = Files.writeString(dir.resolve("k0.table"), "0 64 linear " + a + " 0\n64 8 echo\n");
        assertEquals("", console("dm:load k0 " + table));
        assertEquals(socket(Op.TABLE, Ddlink.FLAG_INACTIVE, "k0"), console("dm:table --inactive k0"));
        assertEquals("0 64 linear " + a + " 0\n64 8 echo \n", console("dm:table --inactive k0"));
        assertEquals("", console("dm:resume k0"));
        assertEquals(socket(Op.STATUS, 0, "k0"), console("dm:status k0"));
        assertEquals("0 64 linear \n64 8 echo messages 0\n", console("dm:status k0"));
        assertEquals(socket(Op.STATUS, 0, ""), console("dm:status"));
        assertEquals(socket(Op.TABLE, 0, "k0"), console("dm:table k0"));
        assertEquals(socket(Op.INFO, 0, "k0"), console("dm:info k0"));
        assertEquals(socket(Op.INFO, 0, ""), console("dm:info"));
        assertEquals(socket(Op.LIST, 0, ""), console("dm:ls"));
        assertEquals(socket(Op.DEPS, 0, "k0"), console("dm:deps k0"));
        assertEquals("1 dependencies\t: (" + a + ")\n", console("dm:deps k0"));
        assertEquals(socket(Op.TARGETS, 0, ""), console("dm:targets"));
        try (DdlinkClient c = appliance.client()) {
            assertEquals(new String(c.callOk(Op.VERSION, 0, new byte[0]), StandardCharsets.UTF_8).substring(Ddlink.VERSION_HEADER_BYTES),
                    console("dm:version"));
        }
        assertEquals("echo hello world binary 0 fds 0\n", console("dm:message k0 @1 hello world"));
        assertEquals("echo ping binary 0 fds 0\n", console("dm:message k0 70 ping"));
        assertEquals("", console("dm:suspend --noflush k0"));
        assertTrue(console("dm:info k0").contains("State:             SUSPENDED\n"));
        assertEquals("", console("dm:resume k0"));
        assertEquals("", console("dm:clear k0"));
        assertEquals("", console("dm:rename k0 k1"));
        assertEquals("", console("dm:remove k1"));
        assertEquals("No devices found\n", console("dm:ls"));
    }

    /** What ddsetup prints for a command line: the CLI op's stdout (the native ddsetup prints it unchanged). */
    private String ddsetup(String... argv) throws Exception {
        PayloadWriter w = new PayloadWriter();
        for (String a : argv) w.text(a).nul();
        try (DdlinkClient c = appliance.client()) {
            byte[] reply = c.callOk(Op.CLI, 0, w.toBytes());
            org.ddmapper.control.ddlink.PayloadReader p = new org.ddmapper.control.ddlink.PayloadReader(Op.CLI, reply);
            assertEquals(0, p.u32("exit"), String.join(" ", argv));
            int out = p.u32("stdout bytes");
            return new String(p.rest(), 0, out, StandardCharsets.UTF_8);
        }
    }

    @Test
    void everyFormOfEveryVerbPrintsWhatDdsetupPrints() throws Exception {
        Path a = Files.write(dir.resolve("forms.img"), new byte[64 * 512]);
        console("dm:create --table \"0 64 linear " + a + " 0\" f0");
        console("dm:create --table \"0 8 linear dm:f0 0\" --table \"8 8 zero\" f1");
        console("dm:create --notable f2");
        try {
            for (String line : List.of("info -c", "info -c -o name,events,attr --sort -name", "info -C --noheadings f1 f0",
                    "info -c --separator , -o name,devs_used,names_using_dev", "info f0 f2", "ls", "ls --tree", "ls --target zero",
                    "status f1 f0", "status --target zero", "table", "table --inactive f2", "deps", "deps f1", "targets", "stats f1 f0")) {
                List<String> words = List.of(line.split(" "));
                String gogo = "dm:" + words.get(0) + words.stream().skip(1).map(w -> " \"" + w + "\"").collect(java.util.stream.Collectors.joining());
                assertEquals(ddsetup(words.toArray(String[]::new)), console(gogo), line);
            }
            assertTrue(console("dm:ls --tree").contains("f1 (0:"), "the forms ran against devices");
        } finally {
            console("dm:remove f1 f0 f2");
        }
    }

    @Test
    void helpShowsEachCommandsDescriptions() throws Exception {
        String help = result("help dm:status");
        assertTrue(help.contains("show status lines: [--inactive] [--target TYPE] [NAME...]"), help);
        assertTrue(help.contains("   scope: dm\n   parameters:\n      String[]   [--inactive] [--target TYPE] [NAME...]\n"), help);
        String create = result("help dm:create");
        assertTrue(create.contains("create a device: NAME [--table LINE]... | NAME FILE | --notable NAME; with a table it is loaded and resumed"),
                create);
        assertTrue(create.contains("NAME and the table: --table LINE (repeatable), a table FILE, or --notable"), create);
        String events = result("help dm:events");
        assertTrue(events.contains("stop after this many events"), events);
    }

    @Test
    void createAndLoadTakeRepeatedTableOptionsLikeDdsetup() throws Exception {
        try {
            assertEquals("", console("dm:create --table \"0 8 zero\" --table \"8 8 error\" r0"));
            assertEquals("0 8 zero \n8 8 error \n", console("dm:table r0"));
            assertEquals("", console("dm:load r0 --table \"0 16 zero\" --table \"16 8 echo\" --table \"24 8 error\""));
            assertEquals("0 16 zero \n16 8 echo \n24 8 error \n", console("dm:table --inactive r0"));
            // one line and no line still reach the plain forms
            assertEquals("", console("dm:create --table \"0 8 zero\" r1"));
            assertEquals("0 8 zero \n", console("dm:table r1"));
            assertEquals("", console("dm:create r2"));
            assertTrue(console("dm:info r2").contains("Tables present:    None\n"));
            Exception e = assertThrows(Exception.class, () -> console("dm:create --table \"0 8 zero\" --table \"8 8 zero\" r3 extra"));
            assertEquals("create: give one table source (--table, --notable, a file or -)", e.getMessage());
            e = assertThrows(Exception.class, () -> console("dm:load --table \"0 8 zero\" --table"));
            assertEquals("--table needs a value", e.getMessage());
            assertTrue(appliance.manager.list().stream().noneMatch(d -> d.name().equals("r3")));
        } finally {
            for (String name : new String[] {"r0", "r1", "r2"})
                if (appliance.manager.list().stream().anyMatch(d -> d.name().equals(name))) appliance.manager.remove(DeviceRef.of(name), true);
        }
    }

    /** An output stream whose writes wait until {@link #open} is counted down; {@link #writing} tells that one is waiting. */
    static final class GatedOutput extends OutputStream {
        final java.util.concurrent.CountDownLatch open = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
        final ByteArrayOutputStream written = new ByteArrayOutputStream();

        @Override
        public void write(int b) throws java.io.IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws java.io.IOException {
            writing.countDown();
            try {
                open.await();
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
            synchronized (written) {
                written.write(b, off, len);
            }
        }

        String text() {
            synchronized (written) {
                return written.toString(StandardCharsets.UTF_8);
            }
        }
    }

    @Test
    void eventsSaysHowManyEventsItDroppedWhileItsOutputWasBlocked() throws Exception {
        appliance.manager.create("fast", "0 8 echo");
        try {
            long history = EventStream.position(appliance.manager, DeviceRef.of("fast"));
            int queued = 4096;
            int dropped = 500;
            GatedOutput gated = new GatedOutput();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Object blocked = gogo.newSession(gated, err);
            long total = history + queued + 1;
            CompletableFuture<Object> events = CompletableFuture.supplyAsync(() -> {
                try {
                    return gogo.execute(blocked, "dm:events --count " + total + " fast");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertTrue(gated.writing.await(30, TimeUnit.SECONDS), "dm:events subscribed and started printing");
            for (int i = 0; i < queued + dropped; i++)
                appliance.manager.message(DeviceRef.of("fast"), new TargetRef.ByIndex(0), Message.of("event", "n=" + i));
            gated.open.countDown();
            // once the queue has room again, the next event comes after the count of those dropped
            org.ddmapper.it.support.Waits.await("dm:events printed the queued events", java.time.Duration.ofSeconds(30),
                    () -> gated.text().lines().count() >= history + queued);
            appliance.manager.message(DeviceRef.of("fast"), new TargetRef.ByIndex(0), Message.of("event", "last=1"));
            events.get(30, TimeUnit.SECONDS);
            java.util.List<String> lines = gated.text().lines().toList();
            assertEquals(total, lines.size());
            assertEquals("fast " + (history + queued) + " target_event target=0 n=" + (queued - 1), lines.get((int) (history + queued - 1)));
            assertEquals("fast " + (history + queued + dropped + 1) + " target_event target=0 last=1", lines.get(lines.size() - 1));
            assertEquals("dm:events: " + dropped + " events lost\n", err.toString(StandardCharsets.UTF_8));
        } finally {
            appliance.manager.remove(DeviceRef.of("fast"), true);
        }
    }

    @Test
    void errorsCarryTheCoresSentence() throws Exception {
        Exception e = assertThrows(Exception.class, () -> console("dm:status nosuch"));
        assertEquals("no device named 'nosuch'", e.getMessage());
        e = assertThrows(Exception.class, () -> console("dm:create --table \"0 8 nosuchtype\" bad"));
        assertTrue(e.getMessage().contains("nosuchtype"), e.getMessage());
        assertEquals(0, appliance.manager.list().stream().filter(d -> d.name().equals("bad")).count());
    }

    @Test
    void eventsPrintsHistoryThenFollowsAndWaitBlocks() throws Exception {
        appliance.manager.create("ev", "0 8 echo");
        try {
            long stream = EventStream.position(appliance.manager, DeviceRef.of("ev"));
            assertEquals(0, appliance.manager.info(DeviceRef.of("ev")).eventNr(), "create, load and resume are not counted, as in the kernel");
            String history = console("dm:events --count " + stream + " ev");
            try (DdlinkClient c = appliance.client()) {
                String viaSocket = new String(c.callOk(Op.EVENTS, 0, new PayloadWriter().u64(0).text("ev").toBytes()), StandardCharsets.UTF_8);
                assertEquals(viaSocket, history);
            }
            CompletableFuture<String> following = CompletableFuture.supplyAsync(() -> {
                try {
                    return console("dm:wait ev 0") + console("dm:events --count " + (stream + 1) + " ev");
                } catch (Exception ex) {
                    throw new RuntimeException(ex);
                }
            });
            Thread.sleep(300);
            assertTrue(!following.isDone(), "dm:wait blocks until the event number passes 0");
            appliance.manager.message(DeviceRef.of("ev"), new TargetRef.ByIndex(0), Message.of("event", "k=v"));
            String printed = following.get(20, TimeUnit.SECONDS);
            assertEquals(history + "ev " + (stream + 1) + " target_event target=0 k=v\n", printed);
        } finally {
            appliance.manager.remove(DeviceRef.of("ev"), true);
        }
    }
}
