package org.ddmapper.checker.tur;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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

@Timeout(60)
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
        // a generous limit: the first check loads JNA, which takes seconds on a loaded machine; no answer here is about time
        return checker.check(d, 10_000).get(15, TimeUnit.SECONDS);
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

    /** An sg_io_hdr as the kernel leaves it after the ioctl, in the machine's byte order. */
    private static byte[] header(int status, int hostStatus, int driverStatus, int senseLength) {
        ByteBuffer b = ByteBuffer.allocate(88).order(ByteOrder.nativeOrder());
        b.putInt(0, 'S');
        b.putInt(4, -1); // SG_DXFER_NONE
        b.put(8, (byte) 6);
        b.put(9, (byte) 32);
        b.putInt(40, 2000);
        b.put(64, (byte) status);
        b.put(65, (byte) ((status >> 1) & 0x7f)); // masked_status, as the kernel fills it
        b.put(67, (byte) senseLength);
        b.putShort(68, (short) hostStatus);
        b.putShort(70, (short) driverStatus);
        b.putInt(76, 1);
        b.putInt(80, status != 0 || hostStatus != 0 || driverStatus != 0 ? 1 : 0); // SG_INFO_CHECK
        b.putLong(56, 0x1818181818181818L); // usr_ptr: noise right before the status bytes
        b.putInt(84, 0x7f7f7f7f); // padding: noise after info
        return b.array();
    }

    private static CheckResult judge(byte[] header, byte[] sense) {
        return ScsiSense.verdict(SgIo.decode(header, sense), true);
    }

    private static CheckResult judgeLast(byte[] header, byte[] sense) {
        return ScsiSense.verdict(SgIo.decode(header, sense), false);
    }

    @Test
    void decodingReadsTheStatusByteNotTheMaskedStatus() {
        SgIo.Result r = SgIo.decode(header(0x18, 0x07, 0x08, 18), fixed(6, 0x29, 0));
        assertEquals(0x18, r.status(), "status is at offset 64; masked_status (65) would give 0x0c");
        assertEquals(0x07, r.hostStatus());
        assertEquals(0x08, r.driverStatus());
        assertEquals(18, r.senseLength());
        assertTrue(r.check());
        assertEquals(32, SgIo.decode(header(2, 0, 8, 200), new byte[32]).senseLength(), "sb_len_wr is capped at the buffer");
        assertThrows(IllegalArgumentException.class, () -> SgIo.decode(new byte[84], new byte[32]));
    }

    @Test
    void reservationConflictIsUp() {
        CheckResult r = judge(header(0x18, 0, 0, 0), new byte[32]);
        assertEquals(new CheckResult(PathState.UP, "reservation conflict (the path works; another host holds the reservation)"), r);
        // tur.c masks the vendor bit: (status & 0x7e) == 0x18
        assertEquals(PathState.UP, judge(header(0x19, 0, 0, 0), new byte[32]).state());
        // even with a host error alongside: multipath-tools checks the conflict first
        assertEquals(PathState.UP, judgeLast(header(0x18, 0x07, 0, 0), new byte[32]).state());
    }

    @Test
    void goodIsUp() {
        assertEquals(new CheckResult(PathState.UP, "test unit ready: good"), judge(header(0, 0, 0, 0), new byte[32]));
    }

    @Test
    void checkConditionWithSenseMapsToMultipathToolsVerdicts() {
        assertEquals(new CheckResult(PathState.GHOST, "not ready: target port in standby state"),
                judge(header(2, 0, 8, 18), fixed(2, 0x04, 0x0b)));
        assertEquals(new CheckResult(PathState.PENDING, "not ready: asymmetric access state transition"),
                judge(header(2, 0, 8, 18), fixed(2, 0x04, 0x0a)));
        assertEquals(new CheckResult(PathState.DISCONNECTED, "illegal request: logical unit not supported"),
                judge(header(2, 0, 8, 8), descriptor(5, 0x25, 0x00)));
        assertEquals(new CheckResult(PathState.DOWN, "check condition: sense key 0x3 asc 0x11 ascq 0x00"),
                judge(header(2, 0, 8, 18), fixed(3, 0x11, 0x00)));
        // not ready for another reason (04/02 initializing command required) is down
        assertEquals(new CheckResult(PathState.DOWN, "check condition: sense key 0x2 asc 0x04 ascq 0x02"),
                judge(header(2, 0, 8, 18), fixed(2, 0x04, 0x02)));
        // deferred-error formats (0x71, 0x73) decode like their current-error twins
        assertEquals(PathState.GHOST, judge(header(2, 0, 8, 18), code(fixed(2, 0x04, 0x0b), 0x71)).state());
        assertEquals(PathState.DISCONNECTED, judge(header(2, 0, 8, 8), code(descriptor(5, 0x25, 0), 0x73)).state());
        // fixed format needs 14 bytes to reach asc/ascq; shorter sense is no sense
        assertEquals(new CheckResult(PathState.DOWN, "scsi status 0x02"), judge(header(2, 0, 8, 13), fixed(2, 0x04, 0x0b)));
        // a check condition without sense data is down
        assertEquals(new CheckResult(PathState.DOWN, "scsi status 0x02"), judge(header(2, 0, 0, 0), new byte[32]));
        assertEquals(new CheckResult(PathState.DOWN, "scsi status 0x08"), judge(header(8, 0, 0, 0), new byte[32]));
    }

    @Test
    void unitAttentionAndHostErrorsAreRetriedThenJudged() {
        assertNull(judge(header(2, 0, 8, 18), fixed(6, 0x29, 0x00)), "unit attention is retried");
        assertEquals(new CheckResult(PathState.DOWN, "check condition: sense key 0x6 asc 0x29 ascq 0x00"),
                judgeLast(header(2, 0, 8, 18), fixed(6, 0x29, 0x00)));
        assertNull(judge(header(0, 0x07, 0, 0), new byte[32]), "DID_ERROR is retried");
        assertEquals(new CheckResult(PathState.DOWN, "host status 0x07"), judgeLast(header(0, 0x07, 0, 0), new byte[32]));
        // no-connect, bad target, abort and transport failfast are not retried
        for (int host : new int[] {0x01, 0x04, 0x05, 0x0f})
            assertEquals(new CheckResult(PathState.DOWN, String.format("host status 0x%02x", host)),
                    judge(header(0, host, 0, 0), new byte[32]));
        // a host error whose sense says standby is ghost once retries are used up
        assertEquals(PathState.GHOST, judgeLast(header(2, 0x07, 8, 18), fixed(2, 0x04, 0x0b)).state());
    }

    private static byte[] code(byte[] sense, int responseCode) {
        sense[0] = (byte) responseCode;
        return sense;
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
