package org.ddmapper.targets.fault.logwrites;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import org.ddmapper.api.Bio;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;
import org.ddmapper.api.IoStatus;
import org.ddmapper.api.Message;
import org.ddmapper.spi.StatusType;
import org.ddmapper.spi.TableException;
import org.ddmapper.spi.Target;
import org.ddmapper.spi.testkit.Completion;
import org.ddmapper.spi.testkit.FakeTargetContext;
import org.ddmapper.spi.testkit.MemoryDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(10)
class LogWritesTest {
    @TempDir
    Path dir;
    private final MemoryDevice data = new MemoryDevice("/data", 2048);
    private final MemoryDevice log = new MemoryDevice("/log", 4096);
    private FakeTargetContext context;

    private Target create(long lengthSectors, String words) {
        context = new FakeTargetContext(lengthSectors, data, log, new MemoryDevice("/small", 8),
                new MemoryDevice("/4k", 2048).logicalBlockBytes(4096));
        return new LogWritesType().create(context, context.args("log-writes", words));
    }

    private Target create() { return create(2048, "/data /log"); }

    static IoStatus write(Target t, long sector, byte[] bytes, int flags) {
        Completion done = new Completion();
        t.map(Bio.write(sector, ByteBuffer.wrap(bytes), flags, done));
        return done.get();
    }

    static IoStatus flush(Target t) {
        Completion done = new Completion();
        t.map(Bio.flush(done));
        return done.get();
    }

    static byte[] block(int fill, int sectors) {
        byte[] b = new byte[sectors * 512];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    /** The log device's contents as a file, read back. */
    private List<LogReader.Entry> entries() throws IOException {
        try (LogReader r = reader()) {
            return r.entries();
        }
    }

    private LogReader reader() throws IOException {
        Path file = dir.resolve("log.img");
        Files.write(file, log.contents(0, log.sizeSectors()));
        return LogReader.open(file);
    }

    /** The first {@code sectors} of an image the whole log was replayed onto. */
    private byte[] replayed(int sectors) throws IOException {
        try (LogReader r = reader(); FileChannel image = FileChannel.open(dir.resolve("replay.img"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            LogReplay replay = new LogReplay(r, image, data.sizeSectors());
            for (LogReader.Entry e : r.entries()) replay.apply(e);
            ByteBuffer bytes = ByteBuffer.allocate(sectors * 512);
            image.read(bytes, 0);
            return bytes.array();
        }
    }

    private static List<String> described(List<LogReader.Entry> entries) {
        return entries.stream().map(LogReader.Entry::toString).toList();
    }

    @Test
    void writesAreLoggedWhenAFlushCoversThemAndFuaAtOnce() throws Exception {
        Target t = create();
        assertTrue(write(t, 8, block(1, 8), 0).isOk());
        assertTrue(write(t, 0, block(2, 1), Bio.FUA).isOk());
        assertEquals("1 2", t.status(StatusType.INFO), "only the FUA write is logged so far (super, entry, data)");
        assertTrue(flush(t).isOk());
        assertTrue(write(t, 16, block(3, 2), 0).isOk());
        t.message(Message.of("mark", "after-flush"));
        assertEquals(List.of("#0 write 0+1 fua", "#1 write 8+8", "#2 flush", "#3 mark 'after-flush'"), described(entries()));
        assertEquals("4 13", t.status(StatusType.INFO), "four entries; in use: super, FUA entry + 1, write entry + 8, flush, mark");
        t.destroy();
        List<String> all = described(entries());
        assertEquals(List.of("#0 write 0+1 fua", "#1 write 8+8", "#2 flush", "#3 mark 'after-flush'", "#4 write 16+2",
                "#5 mark 'dm-log-writes-end'"), all, "teardown logs the unflushed write and the end mark");
        assertArrayEquals(data.contents(0, 18), replayed(18), "the replay gives the device's contents");
    }

    @Test
    void theSuperCountsEntriesOnlyAfterFuaOrMarkAsTheKernels() throws Exception {
        Target t = create();
        write(t, 0, block(1, 1), 0);
        flush(t);
        LogReader.LogFormatException none = assertThrows(LogReader.LogFormatException.class, this::reader,
                "no super written yet: a flush does not write it");
        assertEquals("not a log-writes log: magic 0x0", none.getMessage());
        write(t, 1, block(2, 1), Bio.FUA);
        try (LogReader r = reader()) {
            assertEquals(3, r.count());
        }
        t.destroy();
    }

    @Test
    void aWriteStillInFlightWhenAFlushIsSentWaitsForTheNextFlush() throws Exception {
        Target t = create();
        write(t, 0, block(1, 1), 0);
        data.hold();
        Completion late = new Completion();
        t.map(Bio.write(4, ByteBuffer.wrap(block(2, 1)), 0, late));
        Completion flushed = new Completion();
        t.map(Bio.flush(flushed));
        data.release();
        assertTrue(late.get().isOk());
        assertTrue(flushed.get().isOk());
        t.message(Message.of("mark", "x"));
        assertEquals(List.of("#0 write 0+1", "#1 flush", "#2 mark 'x'"), described(entries()), "the late write is not covered by that flush");
        flush(t);
        t.destroy();
        assertEquals(List.of("#0 write 0+1", "#1 flush", "#2 mark 'x'", "#3 write 4+1", "#4 flush", "#5 mark 'dm-log-writes-end'"),
                described(entries()));
    }

    @Test
    void aFuaWriteTakesWhatItOverwritesOutOfTheWritesWaitingForAFlush() throws Exception {
        Target t = create();
        write(t, 0, block(1, 8), 0);
        write(t, 16, block(2, 2), 0);
        write(t, 2, block(3, 2), Bio.FUA);
        write(t, 16, block(4, 2), Bio.FUA);
        flush(t);
        t.destroy();
        assertEquals(List.of("#0 write 2+2 fua", "#1 write 16+2 fua", "#2 write 0+2", "#3 write 4+4", "#4 flush",
                "#5 mark 'dm-log-writes-end'"), described(entries()), "the kernel would log 0+8 and 16+2 after the FUA writes");
        assertArrayEquals(data.contents(0, 18), replayed(18), "the replay gives the FUA writes' data, as the device holds");
    }

    @Test
    void discardsAndWriteZeroesAreLoggedAndFailedWritesAreNot() throws Exception {
        Target t = create();
        write(t, 0, block(7, 4), 0);
        Completion discarded = new Completion();
        t.map(Bio.discard(0, 2, discarded));
        assertTrue(discarded.get().isOk());
        Completion zeroed = new Completion();
        t.map(Bio.writeZeroes(2, 1, Bio.FUA, zeroed));
        assertTrue(zeroed.get().isOk());
        data.failNext(1, Errno.EIO);
        assertTrue(write(t, 8, block(9, 1), 0).isError());
        flush(t);
        t.destroy();
        assertEquals(List.of("#0 write 2+1 fua", "#1 write 0+2", "#2 write 3+1", "#3 discard 0+2", "#4 flush",
                "#5 mark 'dm-log-writes-end'"), described(entries()), "the FUA write-zeroes took its sector out of the waiting write");
        try (LogReader r = reader()) {
            assertArrayEquals(new byte[512], r.data(r.entries().get(0)).array(), "write-zeroes logs zeros");
        }
    }

    @Test
    void fourKiloByteBlocksCountInBlocksAndRefuseMisalignedWrites() throws Exception {
        Target t = create(64, "/4k /log");
        assertTrue(write(t, 8, block(1, 8), Bio.FUA).isOk());
        IoStatus misaligned = write(t, 1, block(1, 1), 0);
        assertEquals(Errno.EINVAL, misaligned.errno());
        assertEquals("log-writes: WRITE 1+1 is not aligned to the device's 4096-byte blocks", misaligned.message());
        try (LogReader r = reader()) {
            assertEquals(4096, r.blockBytes());
            LogReader.Entry e = r.entries().get(0);
            assertEquals(1, e.header().block());
            assertEquals(1, e.header().blocks());
            assertEquals(8, e.sector());
            assertEquals(4096, e.logOffset());
        }
        t.destroy();
    }

    @Test
    void aFullLogDisablesLoggingAndIoGoesOn() throws Exception {
        Target t = create(64, "/data /small");
        assertTrue(write(t, 0, block(1, 2), Bio.FUA).isOk());
        assertEquals("1 3", t.status(StatusType.INFO));
        assertTrue(write(t, 8, block(2, 8), Bio.FUA).isOk(), "the write reaches the device though the log is full");
        assertEquals("1 3 logging_disabled", t.status(StatusType.INFO));
        assertArrayEquals(block(2, 8), data.contents(8, 8));
        t.destroy();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "mark|expected 'mark <text>', got 'mark'",
        "mark a b|expected 'mark <text>', got 'mark a b'",
        "note x|expected 'mark <text>', got 'note x'",
    })
    void badMessagesAreRefused(String words, String expected) {
        Target t = create();
        DmException e = assertThrows(DmException.class, () -> t.message(new Message(List.of(words.split(" ")), null, null, 0)));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("log-writes: " + expected, e.getMessage());
        assertEquals("0 0", t.status(StatusType.INFO));
        t.destroy();
    }

    @Test
    void marksAreCaseInsensitiveAndCutToOneBlock() throws Exception {
        Target t = create();
        t.message(Message.of("MARK", "x".repeat(600)));
        t.destroy();
        assertEquals("x".repeat(512 - 33), entries().get(0).mark());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/data|not enough arguments: missing log device",
        "/data /log /x|too many arguments: unexpected '/x'",
        "/data /data|the log device cannot be the device itself ('/data')",
        "/small /log|device '/small' too small: 8 sectors for a length of 2048",
        "/data /4k|log device '/4k' has 4096-byte blocks, larger than the 512-byte blocks of '/data' the log is written in",
        "/nosuch /log|'/nosuch': no such device",
    })
    void badTablesAreRefused(String words, String expected) {
        TableException e = assertThrows(TableException.class, () -> create(2048, words));
        assertEquals("log-writes: " + expected, e.getMessage());
    }

    @Test
    void tableTextIsTheTwoDevices() {
        Target t = create();
        assertEquals("/data /log", t.status(StatusType.TABLE));
        t.destroy();
    }
}
