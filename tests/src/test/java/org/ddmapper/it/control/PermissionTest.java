package org.ddmapper.it.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.control.unix.Fds;
import org.ddmapper.it.support.EmbeddedFramework;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ddmapper.it.support.EventStream;

/**
 * SO_PEERCRED against the allow-list ETC/control.conf, with the C example ddtest run as nobody
 * (uid 65534) through setpriv: not allowed, read-only by group, full by user.
 */
@Timeout(120)
class PermissionTest {
    @TempDir
    Path dir;
    Path ddtest;

    @BeforeEach
    void build() throws Exception {
        boolean root = "0".equals(String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid")));
        if (!"true".equals(System.getenv("CI"))) assumeTrue(root, "running a client as another uid needs root");
        assertTrue(root, "this test runs a client as nobody and needs root");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        ddtest = ControlHarness.compile("ddtest", dir);
    }

    private ControlHarness appliance(String conf) throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        if (conf != null) Files.writeString(etc.resolve("control.conf"), conf);
        ControlHarness h = new ControlHarness(EmbeddedFramework.builder().etc(etc));
        for (Path p = h.socket.getParent(); p != null && !p.equals(Path.of("/tmp")) && !p.equals(Path.of("/")); p = p.getParent())
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        h.manager.create("dev", "0 8 zero");
        return h;
    }

    private ControlHarness.Result asNobody(ControlHarness h, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ddtest.toString(),
                h.socket.toString()));
        cmd.addAll(List.of(args));
        return ControlHarness.run(cmd, null, 20);
    }

    @Test
    void theDefaultSocketModeKeepsOtherUsersOut() throws Exception {
        try (ControlHarness h = appliance(null)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(h.socket)));
            ControlHarness.Result r = asNobody(h, "ls");
            assertEquals(2, r.exit(), r.stderr());
            assertTrue(r.stderr().contains("Permission denied"), r.stderr());
        }
    }

    @Test
    void aPeerNotOnTheListGetsEaccesAndNothingChanges() throws Exception {
        try (ControlHarness h = appliance("socket-mode 0666\n")) {
            assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(h.socket)));
            long events = EventStream.position(h.manager, DeviceRef.of("dev"));
            ControlHarness.Result r = asNobody(h, "suspend", "dev");
            assertEquals(1, r.exit(), r.stdout() + r.stderr());
            assertTrue(r.stdout().startsWith("reply op=6 tag=1 status=-13 "), r.stdout());
            assertTrue(Pattern.compile("uid 65534 \\(pid \\d+\\) is not allowed to use the control socket \\(see .*control\\.conf\\)")
                    .matcher(r.stdout()).find(), r.stdout());
            assertEquals(1, asNobody(h, "ls").exit());
            // refused peers leave nothing open in the server (it runs in this JVM)
            Map<Integer, String> before = Fds.snapshot();
            for (int i = 0; i < 5; i++) {
                ControlHarness.Result again = asNobody(h, "status", "dev");
                assertEquals(1, again.exit(), again.stdout() + again.stderr());
                assertTrue(again.stdout().startsWith("reply op=11 tag=1 status=-13 "), again.stdout());
            }
            assertEquals(Map.of(), Fds.openedSince(before), "descriptors left open after 5 refused peers");
            assertEquals(events, EventStream.position(h.manager, DeviceRef.of("dev")), "no event at all");
            assertFalse(h.manager.info(DeviceRef.of("dev")).suspended());
        }
    }

    /** A client that opens COUNT connections to SOCKET, says so, and holds them (sending nothing) until its stdin ends. */
    private static final String HOLDER = """
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            #include <sys/socket.h>
            #include <sys/un.h>
            #include <unistd.h>
            int main(int argc, char **argv) {
                struct sockaddr_un a = {.sun_family = AF_UNIX};
                strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
                int n = atoi(argv[2]), opened = 0;
                for (int i = 0; i < n; i++) {
                    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
                    if (fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof a) == 0) opened++;
                }
                printf("connected %d\\n", opened);
                fflush(stdout);
                char b[64];
                while (read(0, b, sizeof b) > 0) { }
                return 0;
            }
            """;

    @Test
    void hundredsOfRefusedConnectionsHeldOpenDoNotLockOutRoot() throws Exception {
        Path source = Files.writeString(dir.resolve("holder.c"), HOLDER);
        Path holder = dir.resolve("holder");
        ControlHarness.Result cc = ControlHarness.run(List.of("cc", "-O2", "-Wall", "-o", holder.toString(), source.toString()), null, 60);
        assertEquals(0, cc.exit(), cc.stderr());
        try (ControlHarness h = appliance("socket-mode 0666\n")) {
            assertEquals(0, ControlHarness.run(List.of(ddtest.toString(), h.socket.toString(), "ls"), null, 20).exit(), "warm-up");
            Map<Integer, String> before = Fds.snapshot();
            int count = 300;
            Process held = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", holder.toString(),
                    h.socket.toString(), Integer.toString(count)).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                String line = new java.io.BufferedReader(new java.io.InputStreamReader(held.getInputStream())).readLine();
                assertEquals("connected " + count, line, "nobody connected " + count + " times (the socket is 0666)");
                // root still gets in at once, though nobody holds more connections than there are slots
                ControlHarness.Result ls = ControlHarness.run(List.of(ddtest.toString(), h.socket.toString(), "ls"), null, 20);
                assertEquals(0, ls.exit(), ls.stdout() + ls.stderr());
                assertTrue(ls.stdout().startsWith("reply op=2 tag=1 status=0 "), ls.stdout());
            } finally {
                held.getOutputStream().close();
                if (!held.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) held.destroyForcibly().waitFor();
            }
            assertEquals(Map.of(), Fds.openedSince(before), "descriptors left open after " + count + " refused connections");
        }
    }

    @Test
    void aGroupGrantedReadOnlyMayReadButNotChange() throws Exception {
        try (ControlHarness h = appliance("socket-mode 0666\nallow group nogroup read-only\n")) {
            long id = h.manager.info(DeviceRef.of("dev")).id();
            ControlHarness.Result ls = asNobody(h, "ls");
            assertEquals(0, ls.exit(), ls.stderr());
            String list = "dev\t(0:" + id + ")\n";
            assertEquals("reply op=2 tag=1 status=0 length=" + list.length() + "\n" + list, ls.stdout());
            assertEquals("reply op=11 tag=1 status=0 length=10\n0 8 zero \n", asNobody(h, "status", "dev").stdout());
            ControlHarness.Result suspend = asNobody(h, "suspend", "dev");
            assertEquals(1, suspend.exit());
            assertTrue(suspend.stdout().contains("status=-13"), suspend.stdout());
            assertTrue(suspend.stdout().contains("may only use read-only ops, and SUSPEND changes state"), suspend.stdout());
            ControlHarness.Result create = asNobody(h, "create", "other", "0 8 zero");
            assertEquals(1, create.exit());
            assertFalse(h.manager.info(DeviceRef.of("dev")).suspended());
            assertEquals(1, h.manager.list().size());
        }
    }

    @Test
    void aUserGrantedFullAccessMayChangeState() throws Exception {
        try (ControlHarness h = appliance("socket-mode 0666\nallow user nobody\n")) {
            ControlHarness.Result r = asNobody(h, "suspend", "dev");
            assertEquals(0, r.exit(), r.stdout() + r.stderr());
            assertTrue(h.manager.info(DeviceRef.of("dev")).suspended());
        }
    }
}
