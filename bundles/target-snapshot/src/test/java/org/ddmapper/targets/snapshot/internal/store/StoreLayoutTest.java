package org.ddmapper.targets.snapshot.internal.store;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class StoreLayoutTest {

    @Test
    void areasAndDataChunksLieWhereTheKernelPutsThem() {
        StoreLayout l = new StoreLayout(16); // 8 KiB: 512 entries per area, a stride of 513
        assertEquals(512, l.exceptionsPerArea());
        assertEquals(1, l.areaChunk(0));
        assertEquals(514, l.areaChunk(1));
        assertEquals(1027, l.areaChunk(2));
        assertTrue(l.isMetadataChunk(0), "the header");
        assertTrue(l.isMetadataChunk(1));
        assertTrue(l.isMetadataChunk(514));
        assertFalse(l.isMetadataChunk(2));
        assertFalse(l.isMetadataChunk(513));
        assertEquals(3, l.nextAfter(2));
        assertEquals(515, l.nextAfter(513), "the chunk after the last data chunk of area 0 is area 1: stepped over");
        assertEquals(515, l.skipMetadata(514));
        assertEquals(513, l.skipMetadata(513));
    }

    @Test
    void usageIsTheKernelsArithmetic() {
        StoreLayout l = new StoreLayout(16);
        assertEquals(32, l.metadataSectors(0), "header and area 0");
        assertEquals(48, l.metadataSectors(1));
        assertEquals("32/8192 32", new Usage(2 * 16, 8192, l.metadataSectors(0)).text(), "a fresh 4 MiB COW, as dmsetup status prints it");
    }

    @Test
    void chunkSizeRulesSpeakTheKernelsWords() {
        assertNull(ChunkSizes.problem(16, 512, 512));
        assertEquals("Chunk size is not a power of 2", ChunkSizes.problem(24, 512, 512));
        assertEquals("Chunk size is not a power of 2", ChunkSizes.problem(0, 512, 512));
        assertEquals("Chunk size is not a multiple of device blocksize", ChunkSizes.problem(4, 512, 4096));
        assertEquals("Chunk size is not a multiple of device blocksize", ChunkSizes.problem(4, 4096, 512));
        assertEquals("Chunk size is too high", ChunkSizes.problem(1L << 23, 512, 512));
        assertEquals(32, ChunkSizes.defaultFor(512));
        assertEquals(128, ChunkSizes.defaultFor(65536));
        assertThrows(IllegalArgumentException.class, () -> new StoreLayout(12));
    }
}
