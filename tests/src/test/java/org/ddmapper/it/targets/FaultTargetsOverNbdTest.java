package org.ddmapper.it.targets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.ddmapper.api.DeviceRef;
import org.ddmapper.api.Endpoint;
import org.ddmapper.it.support.Peers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Fault targets as a real NBD client (qemu-io) sees them through the NBD export of the device. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(90)
class FaultTargetsOverNbdTest {
    @TempDir static Path dir;
    TargetsFixture fx;
    String address;
    String qemuIo;

    @BeforeAll
    void start() {
        qemuIo = Peers.require("qemu-io");
        fx = new TargetsFixture();
        Endpoint nbd = fx.fw.service(Endpoint.class, "(kind=nbd)", 15_000);
        assertNull(nbd.failure(), "the NBD listener is up");
        address = nbd.address();
    }

    @AfterAll
    void stop() { if (fx != null) fx.close(); }

    @Test
    void aReadFromAFlakeyDeviceThatIsDownFailsWithEio() throws Exception {
        Path f = patterned("down.img", 2048);
        fx.dm.create("nbd-down", "0 2048 flakey " + f + " 0 0 3600");
        String out = qemuIo("nbd-down", "read 0 4k", "write -P 0x11 0 4k");
        assertTrue(out.contains("read failed: Input/output error"), out);
        assertTrue(out.contains("write failed: Input/output error"), out);
        assertArrayEquals(pattern(2048), Files.readAllBytes(f));
        fx.dm.remove(DeviceRef.of("nbd-down"), true);
    }

    @Test
    void writesToAFlakeyDropWritesDeviceAreAcknowledgedButNeverReachTheDisk() throws Exception {
        Path f = patterned("dropped.img", 2048);
        fx.dm.create("nbd-drop", "0 2048 flakey " + f + " 0 0 3600 1 drop_writes");
        String out = qemuIo("nbd-drop", "write -P 0xab 0 64k", "flush", "read -P 0xab 0 64k");
        assertFalse(out.contains("write failed") || out.contains("flush failed"), out);
        assertTrue(out.contains("Pattern verification failed"), "the written pattern is not there to read: " + out);
        assertArrayEquals(pattern(2048), Files.readAllBytes(f), "bytes on disk unchanged");
        fx.dm.remove(DeviceRef.of("nbd-drop"), true);
    }

    @Test
    void aYankedDeviceFailsReadsAndAZeroDeviceReadsZeros() throws Exception {
        fx.dm.create("nbd-err", "0 2048 error");
        String err = qemuIo("nbd-err", "read 0 4k");
        assertTrue(err.contains("read failed: Input/output error"), err);
        fx.dm.create("nbd-zero", "0 2048 zero");
        String zero = qemuIo("nbd-zero", "write -P 0xcd 0 4k", "read -P 0 0 1M");
        assertFalse(zero.contains("failed"), zero);
        fx.dm.remove(DeviceRef.of("nbd-err"), true);
        fx.dm.remove(DeviceRef.of("nbd-zero"), true);
    }

    /** Runs qemu-io with these commands against an export; returns its output. */
    private String qemuIo(String export, String... commands) throws Exception {
        String[] argv = new String[4 + 2 * commands.length];
        argv[0] = qemuIo;
        argv[1] = "-f";
        argv[2] = "raw";
        argv[3] = "nbd://" + address + "/" + export;
        for (int i = 0; i < commands.length; i++) {
            argv[4 + 2 * i] = "-c";
            argv[5 + 2 * i] = commands[i];
        }
        Peers.Result r = Peers.run(30, argv);
        if (r.exit() == -1) fail("qemu-io did not finish: " + r.output());
        return r.output();
    }

    private static byte[] pattern(int sectors) {
        byte[] b = new byte[sectors * 512];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (i * 5 + 3);
        return b;
    }

    private static Path patterned(String name, int sectors) throws Exception {
        return Files.write(dir.resolve(name), pattern(sectors));
    }

}
