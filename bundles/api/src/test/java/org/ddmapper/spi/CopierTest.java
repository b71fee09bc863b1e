package org.ddmapper.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.ddmapper.api.Bio;
import org.ddmapper.api.BioOp;
import org.ddmapper.api.BlockDevice;
import org.ddmapper.api.Errno;
import org.ddmapper.spi.Copier.Outcome;
import org.ddmapper.spi.Copier.Place;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CopierTest {
    private final ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1);

    @AfterEach
    void stop() { scheduler.shutdownNow(); }

    private static MemoryDevice filled(String name, long sectors, long seed) {
        MemoryDevice d = new MemoryDevice(name, sectors);
        byte[] bytes = new byte[(int) (sectors * Bio.SECTOR_BYTES)];
        new Random(seed).nextBytes(bytes);
        d.store(0, bytes);
        return d;
    }

    private static Outcome await(CompletableFuture<Outcome> f) throws Exception {
        return f.get(5, TimeUnit.SECONDS);
    }

    @Test
    void copiesARangeToEveryDestinationInPiecesWithTheWriteFlags() throws Exception {
        MemoryDevice from = filled("from", 64, 1);
        MemoryDevice a = new MemoryDevice("a", 64);
        MemoryDevice b = new MemoryDevice("b", 64);
        Copier copier = new Copier(scheduler, 8 * Bio.SECTOR_BYTES, 16 * Bio.SECTOR_BYTES);
        CompletableFuture<Outcome> done = new CompletableFuture<>();

        copier.copy(new Place(from, 10), List.of(new Place(a, 0), new Place(b, 30)), 20, Bio.FUA, done::complete);

        Outcome outcome = await(done);
        assertTrue(outcome.ok(), outcome.toString());
        assertEquals(2, outcome.writes().size());
        assertArrayEquals(from.contents(10, 20), a.contents(0, 20));
        assertArrayEquals(from.contents(10, 20), b.contents(30, 20));
        // 20 sectors in pieces of 8: reads of 8, 8 and 4 sectors, each written with FUA
        assertEquals(List.of(8L, 8L, 4L), from.requests(BioOp.READ).stream().map(MemoryDevice.Request::lengthSectors).toList());
        assertTrue(a.requests(BioOp.WRITE).stream().allMatch(MemoryDevice.Request::isFua));
        assertEquals(0, copier.inFlightBytes());
    }

    @Test
    void aFailedWriteNamesItsDestinationAndTheOthersStillGetTheData() throws Exception {
        MemoryDevice from = filled("from", 16, 2);
        MemoryDevice good = new MemoryDevice("good", 16);
        MemoryDevice bad = new MemoryDevice("bad", 16).failNext(1, Errno.EIO);
        Copier copier = new Copier(scheduler, 8 * Bio.SECTOR_BYTES, 8 * Bio.SECTOR_BYTES);
        CompletableFuture<Outcome> done = new CompletableFuture<>();

        copier.copy(new Place(from, 0), List.of(new Place(good, 0), new Place(bad, 0)), 16, 0, done::complete);

        Outcome outcome = await(done);
        assertFalse(outcome.ok());
        assertTrue(outcome.read().isOk());
        assertTrue(outcome.writes().get(0).isOk());
        assertEquals(Errno.EIO, outcome.writes().get(1).errno());
        assertEquals(outcome.writes().get(1), outcome.firstError());
        assertArrayEquals(from.contents(0, 16), good.contents(0, 16));
    }

    @Test
    void aFailedReadStopsTheCopyAndIsReported() throws Exception {
        MemoryDevice from = filled("from", 32, 3).failNext(1, Errno.EIO);
        MemoryDevice to = new MemoryDevice("to", 32);
        Copier copier = new Copier(scheduler, 8 * Bio.SECTOR_BYTES, 8 * Bio.SECTOR_BYTES);
        CompletableFuture<Outcome> done = new CompletableFuture<>();

        copier.copy(new Place(from, 0), List.of(new Place(to, 0)), 32, 0, done::complete);

        Outcome outcome = await(done);
        assertEquals(Errno.EIO, outcome.read().errno());
        assertTrue(to.requests(BioOp.WRITE).isEmpty(), "nothing written after the read failed");
        assertEquals(0, copier.inFlightBytes());
    }

    @Test
    void piecesBeyondTheBoundWaitUntilEarlierOnesEnd() throws Exception {
        MemoryDevice from = filled("from", 64, 4);
        from.hold();
        MemoryDevice to = new MemoryDevice("to", 64);
        Copier copier = new Copier(scheduler, 8 * Bio.SECTOR_BYTES, 16 * Bio.SECTOR_BYTES);
        CompletableFuture<Outcome> done = new CompletableFuture<>();

        copier.copy(new Place(from, 0), List.of(new Place(to, 0)), 64, 0, done::complete);

        assertEquals(2, from.requests(BioOp.READ).size(), "two pieces of 8 sectors fit in 16 sectors");
        assertEquals(16 * Bio.SECTOR_BYTES, copier.inFlightBytes());
        from.release();
        assertTrue(await(done).ok());
        assertEquals(8, from.requests(BioOp.READ).size());
        assertArrayEquals(from.contents(0, 64), to.contents(0, 64));
    }

    @Test
    void aLongCopyOverInlineDevicesDoesNotNestOnTheStack() throws Exception {
        long sectors = 200_000; // 25,000 pieces of 4 KiB, every request completing inside submit
        MemoryDevice from = filled("from", sectors, 5);
        MemoryDevice to = new MemoryDevice("to", sectors);
        Copier copier = new Copier(scheduler, 8 * Bio.SECTOR_BYTES, 64 * Bio.SECTOR_BYTES);
        CompletableFuture<Outcome> done = new CompletableFuture<>();

        copier.copy(new Place(from, 0), List.of(new Place(to, 0)), sectors, 0, done::complete);

        assertTrue(await(done).ok());
        assertArrayEquals(from.contents(0, sectors), to.contents(0, sectors));
    }

    @Test
    void aThrottledCopyTakesAsLongAsItsRateSays() throws Exception {
        MemoryDevice from = filled("from", 2048, 6); // 1 MiB
        MemoryDevice to = new MemoryDevice("to", 2048);
        Copier copier = new Copier(scheduler, 128 * Bio.SECTOR_BYTES, 1024 * Bio.SECTOR_BYTES);
        copier.throttle(4L * 1024 * 1024); // 4 MiB/s: 1 MiB in about 250 ms
        CompletableFuture<Outcome> done = new CompletableFuture<>();

        long start = System.nanoTime();
        copier.copy(new Place(from, 0), List.of(new Place(to, 0)), 2048, 0, done::complete);
        assertTrue(await(done).ok());
        long tookMillis = (System.nanoTime() - start) / 1_000_000;

        // 16 pieces of 64 KiB, each 15.6 ms after the one before: the last starts after about 234 ms
        assertTrue(tookMillis >= 200, "took " + tookMillis + " ms");
        assertArrayEquals(from.contents(0, 2048), to.contents(0, 2048));
    }

    @Test
    void aZeroLengthCopyCompletesAtOnce() throws Exception {
        Copier copier = new Copier(scheduler);
        CompletableFuture<Outcome> done = new CompletableFuture<>();
        copier.copy(new Place(new MemoryDevice("a", 8), 0), List.of(new Place(new MemoryDevice("b", 8), 0)), 0, 0, done::complete);
        assertTrue(await(done).ok());
    }

    @Test
    void aDeviceThatThrowsFailsItsSideAndTheCopyStillEndsWithEveryByteBack() throws Exception {
        MemoryDevice from = filled("from", 32, 7);
        BlockDevice throwing = new BlockDevice() {
            @Override public String reference() { return "throwing"; }
            @Override public long sizeSectors() { return 32; }
            @Override public void submit(Bio bio) { throw new IllegalStateException("broken device"); }
            @Override public void close() { }
        };
        MemoryDevice to = new MemoryDevice("to", 32);
        Copier copier = new Copier(scheduler, 8 * Bio.SECTOR_BYTES, 16 * Bio.SECTOR_BYTES);

        CompletableFuture<Outcome> written = new CompletableFuture<>();
        copier.copy(new Place(from, 0), List.of(new Place(throwing, 0), new Place(to, 0)), 32, 0, written::complete);
        Outcome w = await(written);
        assertTrue(w.read().isOk());
        assertEquals(Errno.EIO, w.writes().get(0).errno());
        assertTrue(w.writes().get(0).message().contains("throwing failed: java.lang.IllegalStateException: broken device"),
                w.writes().get(0).message());
        assertTrue(w.writes().get(1).isOk(), "the other destination still gets the data");
        assertArrayEquals(from.contents(0, 32), to.contents(0, 32));

        CompletableFuture<Outcome> read = new CompletableFuture<>();
        copier.copy(new Place(throwing, 0), List.of(new Place(to, 0)), 32, 0, read::complete);
        assertEquals(Errno.EIO, await(read).read().errno(), "a source that throws is a failed read");
        assertEquals(0, copier.inFlightBytes(), "every piece gave its bytes back");
    }

    @Test
    void aThrottledCopyWhoseSchedulerStoppedStillEnds() throws Exception {
        MemoryDevice from = filled("from", 64, 8);
        MemoryDevice to = new MemoryDevice("to", 64);
        Copier copier = new Copier(scheduler, 8 * Bio.SECTOR_BYTES, 64 * Bio.SECTOR_BYTES);
        copier.throttle(1024 * 1024);
        scheduler.shutdownNow();
        CompletableFuture<Outcome> done = new CompletableFuture<>();
        copier.copy(new Place(from, 0), List.of(new Place(to, 0)), 64, 0, done::complete);
        assertTrue(await(done).ok());
        assertArrayEquals(from.contents(0, 64), to.contents(0, 64));
        assertEquals(0, copier.inFlightBytes());
    }
}
