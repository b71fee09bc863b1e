package org.ddmapper.checker.tur;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.spi.CheckResult;
import org.ddmapper.spi.PathState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(20)
class TurCheckerTest {
    @TempDir Path dir;
    private final TurChecker checker = new TurChecker();

    @AfterEach
    void tearDown() { checker.deactivate(); }

    private CheckResult check(String reference) throws Exception {
        BlockDevice d = new BlockDevice() {
            @Override public String reference() { return reference; }

            @Override public long sizeSectors() { return 8; }

            @Override public void submit(Bio bio) { throw new AssertionError("tur never reads through the path"); }

            @Override public void close() { }
        };
        return checker.check(d, 2000).get(5, TimeUnit.SECONDS);
    }

    @Test
    void pathsThatAreNotScsiDevicesAreWild() throws Exception {
        assertEquals(new CheckResult(PathState.WILD, "tur applies to SCSI devices; 'nbd://127.0.0.1:1/x' is not one"),
                check("nbd://127.0.0.1:1/x"));
        Path file = dir.resolve("lun");
        Files.write(file, new byte[4096]);
        CheckResult onFile = check(file.toString()); // a real SG_IO ioctl on a regular file: ENOTTY
        assertEquals(PathState.WILD, onFile.state(), onFile.message());
        assertTrue(onFile.message().contains("is not one (SG_IO: errno 25)"), onFile.message());
        assertEquals(PathState.WILD, check("/dev/null").state());
        CheckResult missing = check(dir.resolve("gone").toString());
        assertEquals(new CheckResult(PathState.DOWN, "cannot open " + dir.resolve("gone") + ": errno 2"), missing);
    }

    @Test
    void senseDataMapsToMultipathToolsVerdicts() {
        assertEquals(PathState.UP, ScsiSense.verdict(0, 0, 0, new byte[32], 0).state());
        assertEquals(PathState.UP, ScsiSense.verdict(0x18, 0, 0, new byte[32], 0).state());
        assertEquals(PathState.GHOST, ScsiSense.verdict(2, 0, 8, fixed(2, 0x04, 0x0b), 18).state());
        assertEquals(PathState.PENDING, ScsiSense.verdict(2, 0, 8, fixed(2, 0x04, 0x0a), 18).state());
        assertEquals(PathState.DISCONNECTED, ScsiSense.verdict(2, 0, 8, descriptor(5, 0x25, 0x00), 8).state());
        CheckResult medium = ScsiSense.verdict(2, 0, 8, fixed(3, 0x11, 0x00), 18);
        assertEquals(new CheckResult(PathState.DOWN, "check condition: sense key 0x3 asc 0x11 ascq 0x00"), medium);
        assertNull(ScsiSense.verdict(2, 0, 8, fixed(6, 0x29, 0x00), 18), "unit attention is retried");
        assertNull(ScsiSense.verdict(0, 7, 0, new byte[32], 0), "a host error is retried");
        assertEquals(new CheckResult(PathState.DOWN, "scsi status 0x08"), ScsiSense.verdict(8, 0, 0, new byte[32], 0));
    }

    private static byte[] fixed(int key, int asc, int ascq) {
        byte[] s = new byte[32];
        s[0] = 0x70;
        s[2] = (byte) key;
        s[7] = 10;
        s[12] = (byte) asc;
        s[13] = (byte) ascq;
        return s;
    }

    private static byte[] descriptor(int key, int asc, int ascq) {
        byte[] s = new byte[32];
        s[0] = 0x72;
        s[1] = (byte) key;
        s[2] = (byte) asc;
        s[3] = (byte) ascq;
        return s;
    }
}
