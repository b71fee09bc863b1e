package org.ddmapper.targets.fault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        assertEquals(IoStatus.error(Errno.EIO, "flakey: read failed: device is down (error_reads)"), down, "down at 2 s");
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
    void withoutFeaturesEverythingFailsWhileDownAndTheTableShowsTheImpliedFeatures() {
        Target flakey = create("/a 8 0 10");
        assertEquals(IoStatus.error(Errno.EIO, "flakey: write failed: device is down (error_writes)"), write(flakey, 0, new byte[512], 0));
        assertEquals(IoStatus.error(Errno.EIO, "flakey: flush failed: device is down (error_writes)"), flush(flakey));
        assertEquals(Errno.EIO, read(flakey, 0, ByteBuffer.allocate(512)).errno());
        assertEquals(List.of(), disk.requests());
        assertEquals("/a 8 0 10 2 error_reads error_writes", flakey.status(StatusType.TABLE));
        assertEquals("", flakey.status(StatusType.INFO));
        assertEquals("/a 8 0 10 2 error_reads error_writes", create("/a 8 0 10 0").status(StatusType.TABLE));
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
    void errorReadsAloneLetsWritesThrough() {
        Target flakey = create("/a 0 0 1 1 error_reads");
        assertEquals(IoStatus.OK, write(flakey, 0, pattern(512), 0));
        assertArrayEquals(pattern(512), disk.contents(0, 1));
        assertEquals(Errno.EIO, read(flakey, 0, ByteBuffer.allocate(512)).errno());
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
    void randomCorruptionAtProbabilityOneChangesOneByteAtMost() {
        Target flakey = create("/a 0 0 1 4 random_read_corrupt 1000000000 random_write_corrupt 1000000000");
        int changedReads = 0;
        for (int i = 0; i < 20; i++) {
            ByteBuffer back = ByteBuffer.allocate(512);
            assertEquals(IoStatus.OK, read(flakey, 0, back));
            int diff = differences(new byte[512], back.array());
            assertTrue(diff <= 1, diff + " bytes changed");
            changedReads += diff;
        }
        assertTrue(changedReads > 0, "some read was corrupted");
        int changedWrites = 0;
        for (int i = 0; i < 20; i++) {
            assertEquals(IoStatus.OK, write(flakey, 0, new byte[512], 0));
            changedWrites += differences(new byte[512], disk.contents(0, 1));
        }
        assertTrue(changedWrites > 0, "some write was corrupted");
    }

    @Test
    void tableListsFeaturesInTheKernelsOrderAndCount() {
        Target flakey = create("/a 0 1 2 8 random_read_corrupt 100 corrupt_bio_byte 32 R 1 0 DROP_WRITES");
        assertEquals("/a 0 1 2 8 drop_writes corrupt_bio_byte 32 r 1 0 random_read_corrupt 100", flakey.status(StatusType.TABLE));
        assertEquals("/a 0 1 2 1 error_writes", create("/a 0 1 2 1 error_writes").status(StatusType.TABLE));
        assertEquals("/a 0 1 2 2 random_write_corrupt 5", create("/a 0 1 2 2 random_write_corrupt 5").status(StatusType.TABLE));
        assertEquals("/a 0 1 2 2 error_reads error_writes", create("/a 0 1 2 2 random_write_corrupt 0").status(StatusType.TABLE),
                "a zero probability is no feature, as in the kernel");
    }

    @ParameterizedTest
    @CsvSource(delimiterString = "=>", value = {
            "/a 0 1                                  => flakey: not enough arguments: missing down interval",
            "/a 0 1 1x                               => flakey: invalid down interval '1x'",
            "/a 0 -1 1                               => flakey: invalid up interval '-1'",
            "/a 0 4294967296 1                       => flakey: invalid up interval '4294967296' (at most 4294967295)",
            "/a 0 0 0                                => flakey: up and down intervals are both 0",
            "/a 0 4294967295 1                       => flakey: up + down interval overflows (more than 4294967295 seconds)",
            "/a 0 1 1 12 error_reads                 => flakey: invalid feature count '12' (at most 11)",
            "/a 0 1 1 3 drop_writes                  => flakey: not enough arguments for feature count 3 (1 words left)",
            "/a 0 1 1 x                              => flakey: invalid feature count 'x'",
            "/a 0 1 1 1 drop_writes extra            => flakey: too many arguments: unexpected 'extra'",
            "/a 0 1 1 1 drop_write                   => flakey: unknown feature 'drop_write'",
            "/a 0 1 1 2 drop_writes error_writes     => flakey: feature error_writes conflicts with drop_writes",
            "/a 0 1 1 2 error_writes drop_writes     => flakey: feature drop_writes conflicts with error_writes",
            "/a 0 1 1 2 error_reads error_reads      => flakey: feature error_reads given twice",
            "/a 0 1 1 3 corrupt_bio_byte 1 r         => flakey: feature corrupt_bio_byte needs 4 parameters: <Nth_byte> <r|w> <value> <flags>",
            "/a 0 1 1 5 corrupt_bio_byte 0 r 1 0     => flakey: invalid corrupt_bio_byte byte number '0' (expected 1..2147483647)",
            "/a 0 1 1 5 corrupt_bio_byte 1 x 1 0     => flakey: invalid corrupt_bio_byte direction 'x' (r or w)",
            "/a 0 1 1 5 corrupt_bio_byte 1 r 256 0   => flakey: invalid corrupt_bio_byte value '256' (expected 0..255)",
            "/a 0 1 1 5 corrupt_bio_byte 1 r 1 -1    => flakey: invalid corrupt_bio_byte flags '-1'",
            "/a 0 1 1 1 random_read_corrupt          => flakey: not enough arguments: missing random_read_corrupt probability",
            "/a 0 1 1 2 random_read_corrupt 1000000001 => flakey: invalid random_read_corrupt probability '1000000001' (at most 1000000000)",
            "/a 0 1 1 4 random_read_corrupt 1 random_read_corrupt 2 => flakey: feature random_read_corrupt given twice",
            "/a 0 1 1 6 error_writes corrupt_bio_byte 1 w 0 0 => flakey: feature error_writes conflicts with corrupting writes (corrupt_bio_byte w, random_write_corrupt)",
            "/a 0 1 1 3 drop_writes random_write_corrupt 9 => flakey: feature drop_writes conflicts with corrupting writes (corrupt_bio_byte w, random_write_corrupt)",
            "/a 0 1 1 3 error_reads random_read_corrupt 5 => flakey: feature error_reads conflicts with corrupting reads (corrupt_bio_byte r, random_read_corrupt)",
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

    private static int differences(byte[] x, byte[] y) {
        int n = 0;
        for (int i = 0; i < x.length; i++) if (x[i] != y[i]) n++;
        return n;
    }

}
