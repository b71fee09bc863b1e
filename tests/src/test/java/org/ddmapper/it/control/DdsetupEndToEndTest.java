package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.DeviceRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.EventStream;

/**
 * ddsetup as a user runs it (a short-lived JVM on the control, api and JNA jars) against a live
 * appliance: the dmsetup verbs end to end, outputs compared to dmsetup's formats.
 */
@Timeout(180)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DdsetupEndToEndTest {
    @TempDir
    static Path dir;
    ControlHarness appliance;
    Path a;
    Path b;

    @BeforeAll
    void start() throws Exception {
        appliance = ControlHarness.start();
        a = Files.write(dir.resolve("a.img"), new byte[2048 * 512]);
        b = Files.write(dir.resolve("b.img"), new byte[2048 * 512]);
    }

    @AfterAll
    void stop() {
        if (appliance != null) appliance.close();
    }

    private ControlHarness.Result ok(String... args) throws Exception {
        ControlHarness.Result r = appliance.ddsetup(null, args);
        assertEquals(0, r.exit(), String.join(" ", args) + ": " + r.stderr());
        assertEquals("", r.stderr(), String.join(" ", args));
        return r;
    }

    private String out(String... args) throws Exception {
        return ok(args).stdout();
    }

    @Test
    void createLoadResumeStatusMessageRemove() throws Exception {
        assertEquals("", out("create", "v0", "--table", "0 2048 linear " + a + " 0"));
        long id = appliance.manager.info(DeviceRef.of("v0")).id();
        assertEquals("v0\t(0:" + id + ")\n", out("ls"));
        assertEquals("0 2048 linear \n", out("status", "v0"));
        assertEquals("0 2048 linear " + a + " 0\n", out("table", "v0"));

        Path table = Files.writeString(dir.resolve("v0.table"), "0 2048 linear " + a + " 0\n2048 1024 linear " + b + " 8\n3072 8 echo\n");
        assertEquals("", out("load", "v0", table.toString()));
        assertEquals("0 2048 linear " + a + " 0\n2048 1024 linear " + b + " 8\n3072 8 echo \n", out("table", "--inactive", "v0"));
        assertTrue(out("info", "v0").contains("Tables present:    LIVE & INACTIVE\n"));
        assertEquals("", out("resume", "v0"));
        assertEquals("0 2048 linear \n2048 1024 linear \n3072 8 echo messages 0\n", out("status", "v0"));
        assertEquals("2 dependencies\t: (" + b + ") (" + a + ")\n", out("deps", "v0"), "the kernel's order: the device first used last first");
        String info = out("info", "v0");
        assertEquals("""
                Name:              v0
                State:             ACTIVE
                Read Ahead:        256
                Tables present:    LIVE
                Open count:        0
                Event number:      %d
                Major, minor:      0, %d
                Number of targets: 3

                """.formatted(appliance.manager.info(DeviceRef.of("v0")).eventNr(), id), info);

        assertEquals("echo hello world binary 0 fds 0\n", out("message", "v0", "@2", "hello", "world"));
        assertEquals("echo ping binary 0 fds 0\n", out("message", "v0", "3075", "ping"));
        assertEquals("0 2048 linear \n2048 1024 linear \n3072 8 echo messages 2\n", out("status", "v0"));

        assertEquals("", out("suspend", "--noflush", "v0"));
        assertTrue(out("info", "v0").contains("State:             SUSPENDED\n"));
        assertEquals("", out("resume", "v0"));
        assertEquals("", out("rename", "v0", "v1"));
        assertEquals("", out("remove", "v1"));
        assertEquals("No devices found\n", out("ls"));
    }

    @Test
    void loadFromStdinAndClear() throws Exception {
        out("create", "s0");
        ControlHarness.Result r = appliance.ddsetup("0 100 zero\n", "load", "s0", "-");
        assertEquals(0, r.exit(), r.stderr());
        assertEquals("0 100 zero \n", out("table", "--inactive", "s0"));
        out("clear", "s0");
        assertEquals("\n", out("table", "--inactive", "s0"), "no inactive table: dmsetup's empty line");
        assertTrue(out("info", "s0").contains("Tables present:    None\n"));
        out("remove", "s0");
    }

    @Test
    void binDdsetupCreateAndLoadReadTheTableFromAPipedStdinUnlessNotable() throws Exception {
        try {
            ControlHarness.Result create = appliance.binDdsetup("0 2048 linear " + a + " 0\n2048 8 echo\n", "create", "in0");
            assertEquals(0, create.exit(), create.stderr());
            assertEquals("", create.stdout() + create.stderr());
            assertEquals("0 2048 linear " + a + " 0\n2048 8 echo \n", out("table", "in0"));
            assertEquals("0 2048 linear \n2048 8 echo messages 0\n", out("status", "in0"));

            ControlHarness.Result notable = appliance.binDdsetup("0 8 zero\n", "create", "--notable", "in1");
            assertEquals(0, notable.exit(), notable.stderr());
            assertTrue(out("info", "in1").contains("Tables present:    None\n"));
            ControlHarness.Result load = appliance.binDdsetup("0 16 zero\n16 16 error\n", "load", "in1");
            assertEquals(0, load.exit(), load.stderr());
            assertEquals("0 16 zero \n16 16 error \n", out("table", "--inactive", "in1"));

            ControlHarness.Result bad = appliance.binDdsetup("0 8 nosuchtype\n", "create", "in2");
            assertEquals(1, bad.exit());
            assertTrue(bad.stderr().startsWith("ddsetup: ") && bad.stderr().contains("nosuchtype"), bad.stderr());
            ControlHarness.Result both = appliance.binDdsetup(null, "create", "in2", "--notable", "--table", "0 8 zero");
            assertEquals(1, both.exit());
            assertTrue(both.stderr().startsWith("ddsetup: create: give one table source (--table, --notable, a file or -): Invalid argument\n"), both.stderr());
            assertTrue(appliance.manager.list().stream().noneMatch(d -> d.name().equals("in2")));
        } finally {
            for (String name : new String[] {"in0", "in1"})
                if (appliance.manager.list().stream().anyMatch(d -> d.name().equals(name))) appliance.manager.remove(DeviceRef.of(name), true);
        }
    }

    @Test
    void statusAndTableOfEveryDevicePrefixTheName() throws Exception {
        out("create", "p1", "--table", "0 8 zero");
        out("create", "p2", "--table", "0 8 zero", "--table", "8 8 error");
        try {
            String status = out("status");
            assertTrue(status.contains("p1: 0 8 zero \n"), status);
            assertTrue(status.contains("p2: 0 8 zero \np2: 8 8 error \n"), status);
            assertTrue(out("table").contains("p2: 8 8 error \n"));
        } finally {
            out("remove", "p1");
            out("remove", "p2");
        }
    }

    @Test
    void failuresPrintOneLineOnStderrAndExitNonZero() throws Exception {
        ControlHarness.Result missing = appliance.ddsetup(null, "status", "nosuch");
        assertEquals(1, missing.exit());
        assertEquals("", missing.stdout());
        assertEquals("ddsetup: no device named 'nosuch': No such device or address\n", missing.stderr());

        ControlHarness.Result badTable = appliance.ddsetup(null, "create", "bad", "--table", "0 10 nosuchtype");
        assertEquals(1, badTable.exit());
        assertEquals(1, badTable.stderr().lines().count(), badTable.stderr());
        assertTrue(badTable.stderr().startsWith("ddsetup: ") && badTable.stderr().contains("nosuchtype"), badTable.stderr());

        ControlHarness.Result usage = appliance.ddsetup(null, "frobnicate");
        assertEquals(1, usage.exit(), "a usage error exits 1, as dmsetup's");
        assertTrue(usage.stderr().startsWith("ddsetup: unknown verb 'frobnicate': Invalid argument\n"), usage.stderr());
        ControlHarness.Result badTarget = appliance.binDdsetup(null, "message", "a", "x1", "hello");
        assertEquals(1, badTarget.exit(), badTarget.stderr());
        assertTrue(badTarget.stderr().startsWith("ddsetup: invalid message target 'x1': expected a sector number or @INDEX: Invalid argument\nusage: "),
                badTarget.stderr());

        ControlHarness.Result down = ControlHarness.run(java.util.List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", ControlHarness.ddsetupClassPath(), "org.ddmapper.control.cli.Ddsetup", "--socket", dir.resolve("none.sock").toString(), "ls"),
                null, 30);
        assertEquals(1, down.exit());
        assertEquals("ddsetup: cannot reach ddmapper at " + dir.resolve("none.sock") + " (No such file or directory); is it running?\n",
                down.stderr());
    }

    @Test
    void targetsVersionWaitAndEvents() throws Exception {
        String targets = out("targets");
        assertTrue(targets.contains("linear           v"), targets);
        assertTrue(targets.contains("echo             v1.0.0\n"), targets);
        String version = out("version");
        assertTrue(version.matches("Library version:   ddmapper-api \\S+\nDriver version:    ddmapper \\S+\n"), version);

        out("create", "e0", "--table", "0 8 echo");
        try {
            assertTrue(out("info", "e0").contains("Event number:      0\n"), "create, load and resume are not counted, as in the kernel");
            long nr = EventStream.position(appliance.manager, DeviceRef.of("e0"));
            CompletableFuture<ControlHarness.Result> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return appliance.ddsetup(null, "wait", "e0");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            CompletableFuture<ControlHarness.Result> events = CompletableFuture.supplyAsync(() -> {
                try {
                    return appliance.ddsetup(null, "events", "e0", "--count", Long.toString(nr + 2));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(1500);
            out("suspend", "e0");
            out("resume", "e0");
            Thread.sleep(500);
            assertTrue(!waiting.isDone(), () -> "wait blocks until the event number moves, which suspend and resume do not: "
                    + waiting.join() + " " + appliance.manager.events(DeviceRef.of("e0"), 0));
            out("message", "e0", "@0", "event", "path=/dev/x", "state=failed");
            assertEquals(0, waiting.get(30, TimeUnit.SECONDS).exit());
            assertEquals("", out("wait", "e0", "0"), "past 0 now: returns at once");
            ControlHarness.Result ev = events.get(30, TimeUnit.SECONDS);
            assertEquals(0, ev.exit(), ev.stderr());
            java.util.List<String> lines = ev.stdout().lines().toList();
            assertEquals(nr + 2, lines.size(), ev.stdout());
            for (int i = 0; i < lines.size(); i++) assertTrue(lines.get(i).startsWith("e0 " + (i + 1) + " "), ev.stdout());
            assertTrue(lines.contains("e0 1 table_loaded targets=1") || lines.contains("e0 1 created"), ev.stdout());
            assertEquals("e0 " + (nr + 1) + " suspended held=0 noflush=false", lines.get((int) nr));
            assertEquals("e0 " + (nr + 2) + " resumed replayed=0", lines.get((int) nr + 1));
        } finally {
            out("remove", "--force", "e0");
        }
    }

    @Test
    void messagePassesAConnectedSocketToTheTarget() throws Exception {
        out("create", "f0", "--table", "0 8 echo");
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.accept();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertEquals("echo take-fd binary 0 fds 1\n",
                    out("message", "f0", "@0", "take-fd", "--pass-connect", "127.0.0.1:" + server.getLocalPort()));
            assertEquals(1, appliance.echo.adopted.size());
            int fd = appliance.echo.adopted.get(0);
            assertTrue(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().startsWith("socket:"));
            try (Socket peer = accepted.get(10, TimeUnit.SECONDS)) {
                org.ddmapper.control.unix.Fds.close(fd);
                InputStream in = peer.getInputStream();
                peer.setSoTimeout(5000);
                assertEquals(-1, in.read(), "the target's socket is the one ddsetup connected");
            }
            // a socket the target does not take is closed by the server
            CompletableFuture<Socket> second = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.accept();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertEquals("echo hello binary 0 fds 1\n", out("message", "f0", "@0", "hello", "--pass-connect", "127.0.0.1:" + server.getLocalPort()));
            try (Socket peer = second.get(10, TimeUnit.SECONDS)) {
                peer.setSoTimeout(5000);
                assertEquals(-1, peer.getInputStream().read());
            }
            // bin/ddsetup --pass-unix: a connection to a Unix stream server
            Path unixPath = dir.resolve("peer.sock");
            try (ServerSocketChannel unixServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                unixServer.bind(UnixDomainSocketAddress.of(unixPath));
                ControlHarness.Result viaUnix = appliance.binDdsetup(null, "message", "f0", "@0", "take-fd", "--pass-unix", unixPath.toString());
                assertEquals(0, viaUnix.exit(), viaUnix.stderr());
                assertEquals("echo take-fd binary 0 fds 1\n", viaUnix.stdout());
                int adopted = appliance.echo.adopted.get(1);
                assertTrue(Files.readSymbolicLink(Path.of("/proc/self/fd/" + adopted)).toString().startsWith("socket:"));
                try (SocketChannel peer = unixServer.accept()) {
                    ByteBuffer hello = ByteBuffer.wrap("from the peer".getBytes(StandardCharsets.UTF_8));
                    peer.write(hello);
                    assertEquals("from the peer", readAndClose(adopted, 13), "the target holds the connection ddsetup made");
                    assertEquals(-1, peer.read(ByteBuffer.allocate(1)), "no other copy is left open");
                }
            }

            // bin/ddsetup --pass-fd: the caller's own descriptor 3, opened by the shell
            Path file = Files.writeString(dir.resolve("passed.data"), "file contents");
            String ddsetup = String.join(" ", appliance.binDdsetupCommand("message", "f0", "@0", "take-fd", "--pass-fd", "3"));
            ControlHarness.Result viaFile = ControlHarness.run(List.of("sh", "-c", "exec 3<>\"$1\" && exec " + ddsetup, "sh", file.toString()), null, 30);
            assertEquals(0, viaFile.exit(), viaFile.stderr());
            assertEquals("echo take-fd binary 0 fds 1\n", viaFile.stdout());
            int fileFd = appliance.echo.adopted.get(2);
            assertEquals(file.toString(), Files.readSymbolicLink(Path.of("/proc/self/fd/" + fileFd)).toString());
            org.ddmapper.control.unix.Fds.close(fileFd);

            try (ServerSocket tcp = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                CompletableFuture<Socket> third = CompletableFuture.supplyAsync(() -> {
                    try {
                        return tcp.accept();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                ControlHarness.Result viaTcp = ControlHarness.run(List.of("bash", "-c",
                        "exec 3<>/dev/tcp/127.0.0.1/" + tcp.getLocalPort() + " && exec " + ddsetup), null, 30);
                assertEquals(0, viaTcp.exit(), viaTcp.stderr());
                int tcpFd = appliance.echo.adopted.get(3);
                try (Socket peer = third.get(10, TimeUnit.SECONDS)) {
                    peer.getOutputStream().write("over tcp".getBytes(StandardCharsets.UTF_8));
                    assertEquals("over tcp", readAndClose(tcpFd, 8), "the target holds the socket the shell connected");
                    peer.setSoTimeout(5000);
                    assertEquals(-1, peer.getInputStream().read());
                }
            }

            // a descriptor opened read-only is refused with the server's sentence, and nothing is adopted
            ControlHarness.Result readOnly = ControlHarness.run(List.of("sh", "-c", "exec 3<\"$1\" && exec " + ddsetup, "sh", file.toString()), null, 30);
            assertEquals(1, readOnly.exit(), readOnly.stdout());
            assertEquals("ddsetup: descriptor 0 is a regular file opened read-only; a message needs it opened read-write: Bad file descriptor\n",
                    readOnly.stderr());
            assertEquals(4, appliance.echo.adopted.size());
        } finally {
            appliance.echo.adopted.clear();
            out("remove", "f0");
        }
    }

    /** Reads {@code bytes} bytes from a socket descriptor the target adopted, within 10 s, then closes it. */
    private static String readAndClose(int fd, int bytes) throws Exception {
        try {
            CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> Pipes.readFully(fd, bytes));
            return new String(read.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8);
        } finally {
            org.ddmapper.control.unix.Fds.close(fd);
        }
    }

    @Test
    void theNativeClientRunsWhatItCanAndHandsTheRestToTheJavaOne() throws Exception {
        Path table = Files.writeString(dir.resolve("n0.table"), "0 8 zero\n8 8 error\n");
        try {
            ControlHarness.Result fromFile = appliance.binDdsetup(null, "create", "n0", table.toString());
            assertEquals(0, fromFile.exit(), fromFile.stderr());
            assertEquals("0 8 zero \n8 8 error \n", appliance.binDdsetup(null, "table", "n0").stdout(), "a table file of the caller's, read by the Java client");
            ControlHarness.Result piped = appliance.binDdsetup("0 16 zero\n", "load", "n0");
            assertEquals(0, piped.exit(), piped.stderr());
            assertEquals("0 16 zero \n", appliance.binDdsetup(null, "table", "--inactive", "n0").stdout(), "stdin, read by the Java client");
            String dist = org.ddmapper.it.support.Appliance.distribution().resolve("bin/ddsetup").toString();
            ControlHarness.Result equalsForm = ControlHarness.run(List.of(dist, "--socket=" + appliance.socket, "info", "-c", "-o", "name", "n0"), null, 30);
            assertEquals("Name            \nn0              \n", equalsForm.stdout(), equalsForm.stderr());
            ControlHarness.Result down = ControlHarness.run(List.of(dist, "--socket", dir.resolve("none.sock").toString(), "ls"), null, 30);
            assertEquals(1, down.exit());
            assertEquals("ddsetup: cannot reach ddmapper at " + dir.resolve("none.sock") + " (No such file or directory); is it running?\n",
                    down.stderr(), "with no appliance to answer, the Java client words the failure");

            long nativeBest = Long.MAX_VALUE;
            long javaBest = Long.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                nativeBest = Math.min(nativeBest, appliance.binDdsetup(null, "status", "n0").millis());
                javaBest = Math.min(javaBest, ok("status", "n0").millis());
            }
            System.out.println("status: native ddsetup best of 3 = " + nativeBest + " ms, Java ddsetup " + javaBest + " ms");
            assertTrue(nativeBest * 3 < javaBest, "the native client runs without a JVM: " + nativeBest + " ms against " + javaBest + " ms");
        } finally {
            appliance.manager.remove(DeviceRef.of("n0"), true);
        }
    }

    @Test
    void startsFast() throws Exception {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) best = Math.min(best, ok("version").millis());
        System.out.println("ddsetup version: best of 3 = " + best + " ms");
        assertTrue(best < 3000, "ddsetup took " + best + " ms");
    }
}
