package org.ddmapper.targets.linear;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.Errno;
import org.ddmapper.api.EventPayload;
import org.ddmapper.api.Extent;
import org.ddmapper.api.IoStatus;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice.Request;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(10)
class StripedTypeTest {
    private final MemoryDevice a = new MemoryDevice("/a", 4096);
    private final MemoryDevice b = new MemoryDevice("/b", 4096);
    private final MemoryDevice c = new MemoryDevice("/c", 4096);
    private FakeTargetContext context;

    private Target create(long lengthSectors, String words) {
        context = new FakeTargetContext(lengthSectors, a, b, c);
        return new StripedType().create(context, context.args("striped", words));
    }

    private static IoStatus write(Target t, long sector, byte[] data, int flags) {
        Completion done = new Completion();
        t.map(Bio.write(sector, ByteBuffer.wrap(data), flags, done));
        return done.get();
    }

    private static IoStatus read(Target t, long sector, ByteBuffer into) {
        Completion done = new Completion();
        t.map(Bio.read(sector, into, done));
        return done.get();
    }

    @Test
    void dataCrossingChunksLandsOnTheRightStripeAndReadsBack() {
        Target striped = create(3 * 64, "3 8 /a 100 /b 0 /c 7");
        byte[] model = new byte[3 * 64 * 512];
        Random random = new Random(1);
        for (int round = 0; round < 200; round++) {
            int sector = random.nextInt(3 * 64);
            int sectors = 1 + random.nextInt(Math.min(40, 3 * 64 - sector));
            byte[] data = new byte[sectors * 512];
            random.nextBytes(data);
            assertEquals(IoStatus.OK, write(striped, sector, data, 0));
            System.arraycopy(data, 0, model, sector * 512, data.length);
        }
        ByteBuffer all = ByteBuffer.allocate(model.length);
        assertEquals(IoStatus.OK, read(striped, 0, all));
        assertArrayEquals(model, all.array());
        // chunk k of the target is chunk k/3 of stripe k%3, after that stripe's offset
        MemoryDevice[] devices = {a, b, c};
        long[] offsets = {100, 0, 7};
        for (int chunk = 0; chunk < 24; chunk++) {
            byte[] expected = java.util.Arrays.copyOfRange(model, chunk * 8 * 512, (chunk + 1) * 8 * 512);
            assertArrayEquals(expected, devices[chunk % 3].contents(offsets[chunk % 3] + (chunk / 3) * 8L, 8), "chunk " + chunk);
        }
    }

    @Test
    void aChunkThatIsNoPowerOfTwoAndADeviceUsedTwiceLayDataOutAsTheKernelDoes() {
        Target striped = create(3 * 5 * 8, "3 5 /a 100 /b 0 /a 7");
        assertEquals("3 5 /a 100 /b 0 /a 7", striped.status(StatusType.TABLE));
        byte[] model = new byte[3 * 5 * 8 * 512];
        new Random(2).nextBytes(model);
        assertEquals(IoStatus.OK, write(striped, 0, java.util.Arrays.copyOf(model, 17 * 512), 0));
        assertEquals(IoStatus.OK, write(striped, 17, java.util.Arrays.copyOfRange(model, 17 * 512, model.length), Bio.FUA));
        ByteBuffer all = ByteBuffer.allocate(model.length);
        assertEquals(IoStatus.OK, read(striped, 0, all));
        assertArrayEquals(model, all.array());
        MemoryDevice[] devices = {a, b, a};
        long[] offsets = {100, 0, 7};
        for (int chunk = 0; chunk < 24; chunk++) {
            byte[] expected = java.util.Arrays.copyOfRange(model, chunk * 5 * 512, (chunk + 1) * 5 * 512);
            assertArrayEquals(expected, devices[chunk % 3].contents(offsets[chunk % 3] + (chunk / 3) * 5L, 5), "chunk " + chunk);
        }
    }

    @Test
    void aChunkMustBeWholeLogicalBlocksOfEveryStripe() {
        b.logicalBlockBytes(4096);
        TableException e = assertThrows(TableException.class, () -> create(64, "2 4 /a 0 /b 0"));
        assertEquals("striped: chunk size 4 is not a whole number of the 8-sector logical blocks of '/b'", e.getMessage());
        assertEquals("2 16 /a 0 /b 0", create(64, "2 16 /a 0 /b 0").status(StatusType.TABLE));
    }

    @Test
    void aWriteIsSplitAtChunkBoundariesAndEachPartKeepsFua() {
        Target striped = create(64, "2 8 /a 0 /b 16");
        assertEquals(IoStatus.OK, write(striped, 4, new byte[16 * 512], Bio.FUA));
        assertEquals(List.of(new Request(BioOp.WRITE, 4, 4, Bio.FUA), new Request(BioOp.WRITE, 8, 4, Bio.FUA)), a.requests());
        assertEquals(List.of(new Request(BioOp.WRITE, 16, 8, Bio.FUA)), b.requests());
    }

    @Test
    void aFlushReachesEveryStripeAndWaitsForAll() {
        Target striped = create(96, "3 8 /a 0 /b 0 /c 0");
        c.hold();
        Completion done = new Completion();
        striped.map(Bio.flush(done));
        for (MemoryDevice d : new MemoryDevice[] {a, b, c}) assertEquals(List.of(new Request(BioOp.FLUSH, 0, 0, 0)), d.requests());
        assertFalse(done.isDone(), "the flush waits for the held stripe");
        c.release();
        assertEquals(IoStatus.OK, done.get());
    }

    @Test
    void aFailedPartFailsTheWholeRequestOnce() {
        Target striped = create(64, "2 8 /a 0 /b 0");
        b.failNext(1, Errno.EIO);
        Completion done = new Completion();
        striped.map(Bio.read(0, ByteBuffer.allocate(32 * 512), done));
        assertEquals(Errno.EIO, done.get().errno());
        assertEquals(1, done.calls());
        assertEquals(4, a.requests().size() + b.requests().size());
    }

    @Test
    void discardAndWriteZeroesBecomeOneRangePerStripe() {
        Target striped = create(96, "3 8 /a 0 /b 1000 /c 0");
        Completion done = new Completion();
        striped.map(Bio.discard(4, 40, done)); // sectors 4..43: chunks 0..5
        assertEquals(IoStatus.OK, done.get());
        assertEquals(List.of(new Request(BioOp.DISCARD, 4, 12, 0)), a.requests());     // chunk 0 from 4, chunk 3 whole
        assertEquals(List.of(new Request(BioOp.DISCARD, 1000, 16, 0)), b.requests());  // chunks 1 and 4 whole
        assertEquals(List.of(new Request(BioOp.DISCARD, 0, 12, 0)), c.requests());     // chunk 2 whole, chunk 5 to 43

        a.store(0, filled(96 * 512));
        Completion zeroes = new Completion();
        striped.map(Bio.writeZeroes(0, 2, Bio.NO_HOLE, zeroes));
        assertEquals(IoStatus.OK, zeroes.get());
        assertEquals(new Request(BioOp.WRITE_ZEROES, 0, 2, Bio.NO_HOLE), a.requests().get(1));
        assertEquals(1, b.requests().size(), "stripe 1 is not touched");
        assertArrayEquals(new byte[1024], a.contents(0, 2));
    }

    @Test
    void aStripeThatFailsTwiceThenSucceedsShowsDAndRaisesTwoEvents() {
        Target striped = create(64, "2 8 /a 0 /b 0");
        assertEquals("2 /a /b 1 AA", striped.status(StatusType.INFO));
        b.failNext(2, Errno.EIO);
        assertEquals(Errno.EIO, read(striped, 8, ByteBuffer.allocate(512)).errno());
        assertEquals(Errno.EIO, read(striped, 9, ByteBuffer.allocate(512)).errno());
        assertEquals(IoStatus.OK, read(striped, 10, ByteBuffer.allocate(512)));
        assertEquals(IoStatus.OK, read(striped, 0, ByteBuffer.allocate(512)));
        assertEquals("2 /a /b 1 AD", striped.status(StatusType.INFO));
        assertEquals(List.of(
                new EventPayload.StripeError(1, "/b", 1, Errno.EIO),
                new EventPayload.StripeError(1, "/b", 2, Errno.EIO)),
                context.events());
    }

    @Test
    void eventsStopAtTheKernelThresholdButTheStripeStaysD() {
        Target striped = create(64, "2 8 /a 0 /b 0");
        a.failNext(20, Errno.EIO);
        for (int i = 0; i < 20; i++) read(striped, 0, ByteBuffer.allocate(512));
        assertEquals(Striped.ERROR_EVENT_LIMIT - 1, context.events().size());
        assertEquals("14", context.events().get(13).details().get("errors"));
        assertEquals("2 /a /b 1 DA", striped.status(StatusType.INFO));
    }

    @Test
    void unsupportedOperationsDoNotMarkAStripe() {
        Target striped = create(64, "2 8 /a 0 /b 0");
        a.failNext(1, Errno.EOPNOTSUPP);
        Completion done = new Completion();
        striped.map(Bio.discard(0, 8, done));
        assertEquals(Errno.EOPNOTSUPP, done.get().errno());
        assertEquals("2 /a /b 1 AA", striped.status(StatusType.INFO));
        assertEquals(List.of(), context.events());
    }

    @Test
    void errorCountsPassToTheNextVersionInALiveUpgrade() {
        Target old = create(64, "2 8 /a 0 /b 0");
        b.failNext(3, Errno.EIO);
        for (int i = 0; i < 3; i++) read(old, 8, ByteBuffer.allocate(512));
        Target next = create(64, "2 8 /a 0 /b 0");
        next.importState(old.exportState().orElseThrow());
        assertEquals("2 /a /b 1 AD", next.status(StatusType.INFO));
        b.failNext(1, Errno.EIO);
        read(next, 8, ByteBuffer.allocate(512));
        assertEquals("4", context.events().get(0).details().get("errors"), "the count goes on from 3");

        Target other = create(96, "3 8 /a 0 /b 0 /c 0");
        other.importState(old.exportState().orElseThrow());
        assertEquals("3 /a /b /c 1 AAA", other.status(StatusType.INFO), "another stripe count ignores the state");
    }

    @Test
    void tableLine() {
        Target striped = create(4096, "2 256 /a 0 /b 2048");
        assertEquals("2 256 /a 0 /b 2048", striped.status(StatusType.TABLE));
        assertEquals("2 /a /b 1 AA", striped.status(StatusType.INFO));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "64   | ''                          | striped: not enough arguments: missing stripe count",
            "64   | 0 8 /a 0                    | striped: invalid stripe count '0' (expected 1..1024)",
            "64   | 1025 8                      | striped: invalid stripe count '1025' (expected 1..1024)",
            "64   | 2x 8 /a 0 /b 0              | striped: invalid stripe count '2x'",
            "64   | -2 8 /a 0 /b 0              | striped: invalid stripe count '-2'",
            "64   | 2                           | striped: not enough arguments: missing chunk size",
            "64   | 2 12x /a 0 /b 0             | striped: invalid chunk size '12x'",
            "64   | 2 0 /a 0 /b 0               | striped: invalid chunk size '0' (at least 1 sector)",
            "64   | 2 00 /a 0 /b 0              | striped: invalid chunk size '0' (at least 1 sector)",
            "64   | 2 4294967296 /a 0 /b 0      | striped: invalid chunk size '4294967296' (at most 2147483648)",
            "64   | 2 99999999999999999999 /a 0 | striped: invalid chunk size '99999999999999999999'",
            "64   | 2 8 /a 0                    | striped: not enough arguments for 2 stripes (2 of 4 words)",
            "64   | 3 8 /a 0 /b 0 /c            | striped: not enough arguments for 3 stripes (5 of 6 words)",
            "64   | 2 8 /a 0 /b 0 extra         | striped: too many arguments: unexpected 'extra'",
            "1000 | 3 8 /a 0 /b 0 /c 0          | striped: length 1000 not divisible by 3 stripes",
            "48   | 2 16 /a 0 /b 0              | striped: stripe length 24 not divisible by chunk size 16",
            "64   | 2 8 /a 0 /a 8               | striped: stripes 0 and 1 overlap on device '/a' (offsets 0 and 8, 32 sectors each)",
            "48   | 3 8 /b 0 /a 64 /a 60        | striped: stripes 1 and 2 overlap on device '/a' (offsets 64 and 60, 16 sectors each)",
            "64   | 2 8 /a 0 /b -1              | striped: invalid stripe 1 offset '-1'",
            "64   | 2 8 /a 0 /b 1e3             | striped: invalid stripe 1 offset '1e3'",
            "64   | 2 8 /a 0 /x 0               | striped: '/x': no such device",
            "64   | 2 8 /a 0 /b 4090            | striped: device '/b' too small: offset 4090 + length 32 > size 4096 sectors",
    })
    void refusesBadArguments(long length, String words, String error) {
        TableException e = assertThrows(TableException.class, () -> create(length, words));
        assertEquals(error, e.getMessage());
    }

    private static byte[] filled(int length) {
        byte[] b = new byte[length];
        java.util.Arrays.fill(b, (byte) 0x5A);
        return b;
    }

    @Test
    void allocationIsAskedChunkByChunkOfEachStripeAndMerged() {
        // 3 stripes of 8-sector chunks from offset 16: target chunk c lies on stripe c % 3 at 16 + (c / 3) * 8
        a.holes(16, 8);          // chunk 0 (target 0..8) is a hole
        b.holes(16, 8);          // chunk 1 (target 8..16) too: merged with chunk 0
        c.holes(24 + 4, 4);      // chunk 5 (target 40..48) holds data in its first half only
        a.holes(32, 8);          // chunk 6 (target 48..56) is a hole, merged with the half before it
        Target t = create(96, "3 8 /a 16 /b 16 /c 16");
        assertEquals(List.of(new Extent(0, 16, Extent.Kind.HOLE), new Extent(16, 28, Extent.Kind.DATA),
                new Extent(44, 12, Extent.Kind.HOLE), new Extent(56, 40, Extent.Kind.DATA)), t.allocation(0, 96));
        assertEquals(List.of(new Extent(42, 2, Extent.Kind.DATA), new Extent(44, 6, Extent.Kind.HOLE)), t.allocation(42, 8));
    }
}
