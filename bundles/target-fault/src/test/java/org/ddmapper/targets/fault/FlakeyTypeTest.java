package org.ddmapper.targets.fault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.ddmapper.spi.testkit.MemoryDevice.Request;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(10)
class FlakeyTypeTest {
    private static final long SECOND = 1_000_000_000L;
    private final AtomicLong clock = new AtomicLong(5 * SECOND);
    private final MemoryDevice disk = new MemoryDevice("/a", 1024);
    private final FakeTargetContext context = new FakeTargetContext(256, disk);

    private Target create(String words) {
        return new FlakeyType(clock::get).create(context, context.args("flakey", words));
    }

    private void after(double seconds) { clock.addAndGet((long) (seconds * SECOND)); }

    private static IoStatus read(Target t, long sector, ByteBuffer into) {
        Completion done = new Completion();
        t.map(Bio.read(sector, into, done));
        return done.get();
    }

    private static IoStatus write(Target t, long sector, byte[] data, int flags) {
        Completion done = new Completion();
        t.map(Bio.write(sector, ByteBuffer.wrap(data), flags, done));
        return done.get();
    }

    private static IoStatus flush(Target t) {
        Completion done = new Completion();
        t.map(Bio.flush(done));
        return done.get();
    }

    @Test
    void upThenDownInACycleCountedFromConstruction() {
        Target flakey = create("/a 0 2 3");
        assertEquals(IoStatus.OK, read(flakey, 0, ByteBuffer.allocate(512)), "up at 0 s");
        after(1.99);
        assertEquals(IoStatus.OK, read(flakey, 0, ByteBuffer.allocate(512)), "up at 1.99 s");
        after(0.01);
        IoStatus down = read(flakey, 0, ByteBuffer.allocate(512));
        assertEquals(IoStatus.error(Errno.EIO, "flakey: read failed: device is down"), down, "down at 2 s");
        after(2.99);
        assertEquals(Errno.EIO, read(flakey, 0, ByteBuffer.allocate(512)).errno(), "down at 4.99 s");
        after(0.01);
        assertEquals(IoStatus.OK, read(flakey, 0, ByteBuffer.allocate(512)), "up again at 5 s");
        after(2);
        assertEquals(Errno.EIO, read(flakey, 0, ByteBuffer.allocate(512)).errno(), "down again at 7 s");
    }

    @Test
    void aLiveUpgradeContinuesTheCycle() {
        Target old = create("/a 0 2 3");
        after(1.5);
        Target next = create("/a 0 2 3");
        next.importState(old.exportState().orElseThrow());
        after(0.5);
        assertEquals(Errno.EIO, read(next, 0, ByteBuffer.allocate(512)).errno(), "2 s into the old cycle: down");
        Target fresh = create("/a 0 2 3");
        assertEquals(IoStatus.OK, read(fresh, 0, ByteBuffer.allocate(512)), "a reload starts a new cycle: up");
    }

    @Test
    void withoutFeaturesEverythingFailsWhileDownAndTheTableShowsNoFeatureAsLinux61() {
        Target flakey = create("/a 8 0 10");
        assertEquals(IoStatus.error(Errno.EIO, "flakey: write failed: device is down"), write(flakey, 0, new byte[512], 0));
        assertEquals(IoStatus.error(Errno.EIO, "flakey: flush failed: device is down"), flush(flakey));
        assertEquals(Errno.EIO, read(flakey, 0, ByteBuffer.allocate(512)).errno());
        assertEquals(List.of(), disk.requests());
        assertEquals("/a 8 0 10 0 ", flakey.status(StatusType.TABLE), "6.1 prints the count and a blank after it");
        assertEquals("", flakey.status(StatusType.INFO));
        assertEquals("/a 8 0 10 0 ", create("/a 8 0 10 0").status(StatusType.TABLE));
    }

    @Test
    void whileUpEverythingPassesToTheOffset() {
        Target flakey = create("/a 8 10 0");
        byte[] data = pattern(1024);
        assertEquals(IoStatus.OK, write(flakey, 2, data, Bio.FUA));
        assertArrayEquals(data, disk.contents(10, 2));
        assertEquals(IoStatus.OK, flush(flakey));
        assertEquals(List.of(new Request(BioOp.WRITE, 10, 2, Bio.FUA), new Request(BioOp.FLUSH, 0, 0, 0)), disk.requests());
    }

    @Test
    void dropWritesAcknowledgesWritesAndFlushesThatNeverReachTheDevice() {
        Target flakey = create("/a 0 0 1 1 drop_writes");
        disk.store(0, pattern(512));
        assertEquals(IoStatus.OK, write(flakey, 0, new byte[512], 0));
        assertEquals(IoStatus.OK, flush(flakey));
        Completion discard = new Completion();
        flakey.map(Bio.discard(0, 1, discard));
        assertEquals(IoStatus.OK, discard.get());
        assertArrayEquals(pattern(512), disk.contents(0, 1), "the old bytes are still there");
        ByteBuffer back = ByteBuffer.allocate(512);
        assertEquals(IoStatus.OK, read(flakey, 0, back), "reads pass");
        assertArrayEquals(pattern(512), back.array());
        assertEquals(List.of(new Request(BioOp.READ, 0, 1, 0)), disk.requests());
    }

    @Test
    void errorWritesAloneLetsReadsThrough() {
        Target flakey = create("/a 0 0 1 1 error_writes");
        assertEquals(Errno.EIO, write(flakey, 0, new byte[512], 0).errno());
        assertEquals(IoStatus.OK, read(flakey, 0, ByteBuffer.allocate(512)));
    }

    @Test
    void corruptBioByteOnReadsLetsWritesThroughWhileDown() {
        Target flakey = create("/a 0 0 1 5 corrupt_bio_byte 1 r 0 0");
        assertEquals(IoStatus.OK, write(flakey, 0, pattern(512), 0));
        assertArrayEquals(pattern(512), disk.contents(0, 1));
    }

    @Test
    void corruptBioByteOnReadsChangesOnlyThatByteAndOnlyWhileDown() {
        Target flakey = create("/a 0 1 1 5 corrupt_bio_byte 3 r 255 0");
        disk.store(0, new byte[1024]);
        ByteBuffer up = ByteBuffer.allocate(1024);
        assertEquals(IoStatus.OK, read(flakey, 0, up));
        assertArrayEquals(new byte[1024], up.array());
        after(1);
        ByteBuffer down = ByteBuffer.allocate(1024);
        assertEquals(IoStatus.OK, read(flakey, 0, down));
        byte[] expected = new byte[1024];
        expected[2] = (byte) 255;
        assertArrayEquals(expected, down.array());
        assertArrayEquals(new byte[1024], disk.contents(0, 2), "the device is unchanged");
    }

    @Test
    void corruptBioByteOnWritesCorruptsACopyAndHonoursTheFlagsMask() {
        Target flakey = create("/a 0 0 1 5 corrupt_bio_byte 600 w 7 1");
        byte[] data = new byte[1024];
        assertEquals(IoStatus.OK, write(flakey, 0, data, 0));
        assertArrayEquals(new byte[1024], disk.contents(0, 2), "no FUA: the mask does not match");
        assertEquals(IoStatus.OK, write(flakey, 0, data, Bio.FUA));
        byte[] expected = new byte[1024];
        expected[599] = 7;
        assertArrayEquals(expected, disk.contents(0, 2));
        assertArrayEquals(new byte[1024], data, "the caller's buffer is untouched");
        assertEquals(IoStatus.OK, write(flakey, 0, new byte[512], Bio.FUA), "a write shorter than the byte is left alone");
        assertArrayEquals(new byte[512], disk.contents(0, 1));
    }

    @Test
    void tableListsFeaturesInTheKernelsOrderAndCountEachFollowedByABlank() {
        Target flakey = create("/a 0 1 2 6 corrupt_bio_byte 32 R 1 0 DROP_WRITES");
        assertEquals("/a 0 1 2 6 drop_writes corrupt_bio_byte 32 r 1 0 ", flakey.status(StatusType.TABLE));
        assertEquals("/a 0 1 2 1 error_writes ", create("/a 0 1 2 1 error_writes").status(StatusType.TABLE));
    }

    @ParameterizedTest
    @CsvSource(delimiterString = "=>", value = {
            "/a 0 1                                  => flakey: not enough arguments: missing down interval",
            "/a 0 1 1x                               => flakey: invalid down interval '1x'",
            "/a 0 -1 1                               => flakey: invalid up interval '-1'",
            "/a 0 4294967296 1                       => flakey: invalid up interval '4294967296' (at most 4294967295)",
            "/a 0 0 0                                => flakey: up and down intervals are both 0",
            "/a 0 4294967295 1                       => flakey: up + down interval overflows (more than 4294967295 seconds)",
            "/a 0 1 1 7 drop_writes                  => flakey: invalid feature count '7' (at most 6)",
            "/a 0 1 1 3 drop_writes                  => flakey: not enough arguments for feature count 3 (1 words left)",
            "/a 0 1 1 x                              => flakey: invalid feature count 'x'",
            "/a 0 1 1 1 drop_writes extra            => flakey: too many arguments: unexpected 'extra'",
            "/a 0 1 1 1 drop_write                   => flakey: unknown feature 'drop_write' (Linux 6.1's flakey has drop_writes, error_writes, corrupt_bio_byte)",
            "/a 0 1 1 2 drop_writes error_writes     => flakey: feature error_writes conflicts with drop_writes",
            "/a 0 1 1 2 error_writes drop_writes     => flakey: feature drop_writes conflicts with error_writes",
            "/a 0 1 1 2 drop_writes drop_writes      => flakey: feature drop_writes given twice",
            "/a 0 1 1 1 error_reads                  => flakey: unknown feature 'error_reads' (Linux 6.1's flakey has drop_writes, error_writes, corrupt_bio_byte)",
            "/a 0 1 1 2 random_read_corrupt 1        => flakey: unknown feature 'random_read_corrupt' (Linux 6.1's flakey has drop_writes, error_writes, corrupt_bio_byte)",
            "/a 0 1 1 3 corrupt_bio_byte 1 r         => flakey: feature corrupt_bio_byte needs 4 parameters: <Nth_byte> <r|w> <value> <flags>",
            "/a 0 1 1 5 corrupt_bio_byte 0 r 1 0     => flakey: invalid corrupt_bio_byte byte number '0' (expected 1..2147483647)",
            "/a 0 1 1 5 corrupt_bio_byte 1 x 1 0     => flakey: invalid corrupt_bio_byte direction 'x' (r or w)",
            "/a 0 1 1 5 corrupt_bio_byte 1 r 256 0   => flakey: invalid corrupt_bio_byte value '256' (expected 0..255)",
            "/a 0 1 1 5 corrupt_bio_byte 1 r 1 -1    => flakey: invalid corrupt_bio_byte flags '-1'",
            "/a 0 1 1 6 error_writes corrupt_bio_byte 1 w 0 0 => flakey: feature error_writes conflicts with corrupt_bio_byte w",
            "/a 0 1 1 6 drop_writes corrupt_bio_byte 1 w 0 0  => flakey: feature drop_writes conflicts with corrupt_bio_byte w",
            "/nope 0 1 1                             => flakey: '/nope': no such device",
    })
    void refusesBadArguments(String words, String error) {
        assertEquals(error, assertThrows(TableException.class, () -> create(words)).getMessage());
    }

    private static byte[] pattern(int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 13 + 1);
        return b;
    }


}
