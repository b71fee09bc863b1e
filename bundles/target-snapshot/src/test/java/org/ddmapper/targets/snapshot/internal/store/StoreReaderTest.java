package org.ddmapper.targets.snapshot.internal.store;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.Map;
import org.ddmapper.api.Errno;
import org.junit.jupiter.api.Test;

class StoreReaderTest {
    static final int CHUNK = 8; // 4 KiB: 256 entries per area, areas at chunks 1, 258, 515, ...

    private final Map<Long, Long> found = new LinkedHashMap<>();

    private StoreImage read(StoreBytes b, int tableChunk) throws StoreFormatException {
        found.clear();
        return StoreReader.read(b.source(), b.bytes().length / 512, tableChunk, 512, 512, found::put);
    }

    private StoreFormatException refused(StoreBytes b, int tableChunk) {
        return assertThrows(StoreFormatException.class, () -> read(b, tableChunk));
    }

    @Test
    void aBlankDeviceIsANewStoreWithTheTablesChunkOrTheDefault() throws Exception {
        StoreBytes b = new StoreBytes(4096, CHUNK);
        StoreImage image = read(b, 16);
        assertEquals(StoreImage.Kind.BLANK, image.kind());
        assertEquals(16, image.chunkSectors());
        assertEquals(32, read(b, 0).chunkSectors(), "0 in the table: 16 KiB");
    }

    @Test
    void exceptionsAreReadUpToTheFirstZeroNewChunkAndWritingGoesOnThere() throws Exception {
        StoreBytes b = new StoreBytes(4096, CHUNK).validHeader();
        b.entry(0, 0, 10, 2).entry(0, 1, 11, 3).entry(0, 2, 5, 4);
        b.entry(0, 4, 99, 9); // after the terminator: ignored, as by the kernel
        StoreImage image = read(b, CHUNK);
        assertEquals(StoreImage.Kind.VALID, image.kind());
        assertEquals(Map.of(10L, 2L, 11L, 3L, 5L, 4L), found);
        assertEquals(5, image.nextFree());
        assertEquals(0, image.currentArea());
        assertEquals(3, image.currentCommitted());
        assertEquals(3, image.exceptions());
    }

    @Test
    void aFullAreaLeadsToTheNextAndTheNextFreeChunkStepsOverMetadata() throws Exception {
        StoreBytes b = new StoreBytes(4096, CHUNK).validHeader();
        long next = 2;
        for (int i = 0; i < 256; i++) {
            b.entry(0, i, 1000 + i, next);
            next = b.layout().nextAfter(next);
        }
        assertEquals(259, next, "chunk 258 is area 1");
        StoreImage image = read(b, CHUNK);
        assertEquals(1, image.currentArea());
        assertEquals(0, image.currentCommitted());
        assertEquals(259, image.nextFree());
        assertEquals(256, found.size());
        assertEquals(24, b.layout().metadataSectors(read(b, CHUNK).currentArea()), "status: header and two areas");
    }

    @Test
    void theHeadersChunkSizeOverridesTheTables() throws Exception {
        StoreBytes b = new StoreBytes(4096, CHUNK).validHeader().entry(0, 0, 1, 2);
        StoreImage image = read(b, 32);
        assertEquals(CHUNK, image.chunkSectors());
        assertTrue(image.tableOverridden());
        assertFalse(read(b, 0).tableOverridden(), "no chunk in the table: nothing is overridden");
    }

    @Test
    void anInvalidatedStoreIsReportedNotRead() throws Exception {
        StoreBytes b = new StoreBytes(4096, CHUNK).header(DiskHeader.MAGIC, 0, 1, CHUNK).entry(0, 0, 1, 2);
        StoreImage image = read(b, CHUNK);
        assertEquals(StoreImage.Kind.INVALID, image.kind());
        assertTrue(found.isEmpty());
    }

    @Test
    void foreignHeadersAreRefusedWithTheKernelsWords() {
        StoreFormatException e = refused(new StoreBytes(4096, CHUNK).header(0x12345678, 1, 1, CHUNK), CHUNK);
        assertEquals(Errno.ENXIO, e.errno());
        assertEquals("Invalid or corrupt snapshot (magic 0x12345678, not \"SnAp\")", e.getMessage());
        e = refused(new StoreBytes(4096, CHUNK).header(DiskHeader.MAGIC, 1, 2, CHUNK), CHUNK);
        assertEquals("unable to handle snapshot disk version 2", e.getMessage());
        e = refused(new StoreBytes(4096, CHUNK).header(DiskHeader.MAGIC, 1, 1, 24), CHUNK);
        assertEquals("invalid on-disk chunk size 24: Chunk size is not a power of 2", e.getMessage());
        e = refused(new StoreBytes(4096, CHUNK).header(DiskHeader.MAGIC, 1, 1, -1), CHUNK);
        assertEquals("invalid on-disk chunk size 4294967295: Chunk size is not a power of 2", e.getMessage());
    }

    @Test
    void entriesPointingOutsideTheCowOrAtMetadataAreRefused() {
        StoreFormatException e = refused(new StoreBytes(4096, CHUNK).validHeader().entry(0, 0, 3, 600), CHUNK);
        assertEquals("metadata area 0 entry 0 maps origin chunk 3 to COW chunk 600, beyond the 512 chunks of the COW device", e.getMessage());
        e = refused(new StoreBytes(4096, CHUNK).validHeader().entry(0, 0, 3, 2).entry(0, 1, 4, 1), CHUNK);
        assertEquals("metadata area 0 entry 1 maps origin chunk 4 to COW chunk 1, which holds metadata", e.getMessage());
        e = refused(new StoreBytes(4096, CHUNK).validHeader().entry(0, 0, -5, 2), CHUNK);
        assertEquals("metadata area 0 entry 0 names origin chunk 18446744073709551611, beyond any device", e.getMessage());
    }

    @Test
    void anAreaChainRunningPastTheEndIsATruncatedStore() {
        StoreBytes b = new StoreBytes(258 * CHUNK, CHUNK).validHeader(); // room for area 0 and its data, not for area 1
        long next = 2;
        for (int i = 0; i < 256; i++) {
            b.entry(0, i, i, next);
            next = b.layout().nextAfter(next);
        }
        // the last entry points at chunk 257, the device's last: fine; area 1 would be chunk 258
        StoreFormatException e = refused(b, CHUNK);
        assertTrue(e.getMessage().startsWith("metadata area 1 (chunk 258) lies beyond the end of the COW device (258 chunks"), e.getMessage());
    }

    @Test
    void aFailingReadIsAnIoError() {
        StoreReader.ChunkSource broken = (sector, n) -> java.util.concurrent.CompletableFuture.failedFuture(new java.io.IOException("EIO: medium error"));
        StoreFormatException e = assertThrows(StoreFormatException.class, () -> StoreReader.read(broken, 4096, CHUNK, 512, 512, (o, n) -> { }));
        assertEquals(Errno.EIO, e.errno());
        assertEquals("cannot read the header: EIO: medium error", e.getMessage());
    }
}
