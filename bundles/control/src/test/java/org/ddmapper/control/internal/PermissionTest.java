package org.ddmapper.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.control.CExamples;
import org.ddmapper.control.ddlink.DdlinkClient;
import org.ddmapper.control.ddlink.Op;
import org.ddmapper.control.ddlink.PayloadWriter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** SO_PEERCRED against the allow-list, with the C client run as nobody (uid 65534) through setpriv. */
@Timeout(60)
class PermissionTest {
    @TempDir
    Path dir;
    Path ddtest;

    @BeforeEach
    void build() throws Exception {
        boolean root = Accounts.ownUid() == 0;
        if (!"true".equals(System.getenv("CI"))) assumeTrue(root, "running a client as another uid needs root");
        assertTrue(root, "this test runs a client as nobody and needs root");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        ddtest = CExamples.compile("ddtest", dir);
    }

    private ServerFixture server(String conf) throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Path file = etc.resolve("control.conf");
        if (conf != null) Files.writeString(file, conf);
        ServerFixture f = new ServerFixture(dir, file);
        Files.setPosixFilePermissions(f.socket.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        try (DdlinkClient c = f.client()) {
            c.callOk(Op.CREATE, 0, new PayloadWriter().text("dev").nul().text("0 8 zero").toBytes());
        }
        return f;
    }

    private CExamples.Result asNobody(ServerFixture f, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ddtest.toString(),
                f.socket.toString()));
        cmd.addAll(List.of(args));
        return CExamples.run(cmd, 20);
    }

    @Test
    void theDefaultSocketModeKeepsOtherUsersOut() throws Exception {
        try (ServerFixture f = server(null)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.socket)));
            CExamples.Result r = asNobody(f, "ls");
            assertEquals(2, r.exit(), r.stderr());
            assertTrue(r.stderr().contains("Permission denied"), r.stderr());
        }
    }

    @Test
    void aPeerNotOnTheListGetsEaccesAndNothingChanges() throws Exception {
        try (ServerFixture f = server("socket-mode 0666\n")) {
            assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.socket)));
            long events = f.manager.info(DeviceRef.of("dev")).eventNr();
            CExamples.Result r = asNobody(f, "suspend", "dev");
            assertEquals(1, r.exit(), r.stdout() + r.stderr());
            assertTrue(r.stdout().startsWith("reply op=6 tag=1 status=-13 "), r.stdout());
            assertTrue(Pattern.compile("uid 65534 \\(pid \\d+\\) is not allowed to use the control socket \\(see .*control\\.conf\\)")
                    .matcher(r.stdout()).find(), r.stdout());
            CExamples.Result read = asNobody(f, "ls");
            assertEquals(1, read.exit());
            assertEquals(events, f.manager.info(DeviceRef.of("dev")).eventNr());
            assertEquals(false, f.manager.info(DeviceRef.of("dev")).suspended());
        }
    }

    @Test
    void aGroupGrantedReadOnlyMayReadButNotChange() throws Exception {
        try (ServerFixture f = server("socket-mode 0666\nallow group nogroup read-only\n")) {
            CExamples.Result ls = asNobody(f, "ls");
            assertEquals(0, ls.exit(), ls.stderr());
            assertEquals("reply op=2 tag=1 status=0 length=8\ndev\t(1)\n", ls.stdout());
            CExamples.Result status = asNobody(f, "status", "dev");
            assertEquals("reply op=11 tag=1 status=0 length=9\n0 8 zero\n", status.stdout());
            CExamples.Result suspend = asNobody(f, "suspend", "dev");
            assertEquals(1, suspend.exit());
            assertTrue(suspend.stdout().contains("status=-13"), suspend.stdout());
            assertTrue(suspend.stdout().contains("may only use read-only ops, and SUSPEND changes state"), suspend.stdout());
            assertEquals(false, f.manager.info(DeviceRef.of("dev")).suspended());
        }
    }

    @Test
    void aUserGrantedFullAccessMayChangeState() throws Exception {
        try (ServerFixture f = server("socket-mode 0666\nallow user nobody\n")) {
            CExamples.Result r = asNobody(f, "suspend", "dev");
            assertEquals(0, r.exit(), r.stdout() + r.stderr());
            assertTrue(f.manager.info(DeviceRef.of("dev")).suspended());
        }
    }
}
