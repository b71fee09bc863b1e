package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceRef;
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
import org.osgi.framework.ServiceReference;

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
    Object session;
    Method execute;
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    @BeforeAll
    void start() throws Exception {
        appliance = ControlHarness.start();
        String processorClass = "org.apache.felix.service.command.CommandProcessor";
        long deadline = System.currentTimeMillis() + 15_000;
        ServiceReference<?> ref;
        while ((ref = appliance.fw.context().getServiceReference(processorClass)) == null || !commandsRegistered()) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("no CommandProcessor or dm: commands");
            Thread.sleep(20);
        }
        Object processor = appliance.fw.context().getService(ref);
        Class<?> api = ref.getBundle().loadClass(processorClass);
        session = api.getMethod("createSession", InputStream.class, OutputStream.class, OutputStream.class)
                .invoke(processor, new ByteArrayInputStream(new byte[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(out, true, StandardCharsets.UTF_8));
        execute = ref.getBundle().loadClass("org.apache.felix.service.command.CommandSession").getMethod("execute", CharSequence.class);
    }

    private boolean commandsRegistered() throws Exception {
        var refs = appliance.fw.context().getAllServiceReferences(null, "(osgi.command.scope=dm)");
        return refs != null && refs.length == 7;
    }

    @AfterAll
    void stop() {
        if (appliance != null) appliance.close();
    }

    /** Runs a console command line and returns what it printed. */
    private synchronized String console(String line) throws Exception {
        out.reset();
        try {
            execute.invoke(session, line);
        } catch (InvocationTargetException e) {
            throw (Exception) e.getCause();
        }
        return out.toString(StandardCharsets.UTF_8);
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
        assertEquals("0 64 linear " + a + " 0\n64 8 echo\n", console("dm:table --inactive k0"));
        assertEquals("", console("dm:resume k0"));
        assertEquals(socket(Op.STATUS, 0, "k0"), console("dm:status k0"));
        assertEquals("0 64 linear\n64 8 echo messages 0\n", console("dm:status k0"));
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
            long nr = appliance.manager.info(DeviceRef.of("ev")).eventNr();
            String history = console("dm:events --count " + nr + " ev");
            try (DdlinkClient c = appliance.client()) {
                String viaSocket = new String(c.callOk(Op.EVENTS, 0, new PayloadWriter().u64(0).text("ev").toBytes()), StandardCharsets.UTF_8);
                assertEquals(viaSocket, history);
            }
            CompletableFuture<String> following = CompletableFuture.supplyAsync(() -> {
                try {
                    return console("dm:wait ev " + nr) + console("dm:events --count " + (nr + 1) + " ev");
                } catch (Exception ex) {
                    throw new RuntimeException(ex);
                }
            });
            Thread.sleep(300);
            assertTrue(!following.isDone(), "dm:wait blocks until the event number passes " + nr);
            appliance.manager.message(DeviceRef.of("ev"), new TargetRef.ByIndex(0), Message.of("event", "k=v"));
            String printed = following.get(20, TimeUnit.SECONDS);
            assertEquals(history + "ev " + (nr + 1) + " target_event target=0 k=v\n", printed);
        } finally {
            appliance.manager.remove(DeviceRef.of("ev"), true);
        }
    }
}
