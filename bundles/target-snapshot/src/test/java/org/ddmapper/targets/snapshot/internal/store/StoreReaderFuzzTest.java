package org.ddmapper.targets.snapshot.internal.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * Fuzzes the persistent store's reader as a snapshot's resume runs it (header, then the chain of
 * exception areas): a COW device can hold anything — another program's data, a torn store, a
 * hostile image. The first four bytes of an input choose the table's chunk size, the COW device's
 * logical block, and how the device's size relates to the bytes (exactly them, shorter, or longer
 * with the rest failing to read or reading as zeros); the rest is the device. Whatever they are,
 * the reader ends in a store image that is self-consistent or a {@link StoreFormatException} with
 * an errno and a message; nothing else escapes, nothing hangs.
 */
class StoreReaderFuzzTest {

    @FuzzTest
    void resume(byte[] input) {
        if (input.length < 4) return;
        int tableChunk = (input[0] & 0x0f) == 0 ? 0 : 1 << ((input[0] & 0x0f) % 12);
        int cowBlock = (input[1] & 1) == 0 ? 512 : 4096;
        byte[] image = Arrays.copyOfRange(input, 4, input.length);
        long imageSectors = (image.length + 511) / 512;
        int shape = input[2] & 3;
        long sectors = switch (shape) {
            case 0 -> imageSectors;
            case 1 -> imageSectors * (input[3] & 0xff) / 256; // a device shorter than its store says
            default -> imageSectors + ((long) (input[3] & 0xff) << (input[2] >>> 2 & 0x1f)); // longer: up to ~2^39 sectors
        };
        boolean tailReadsZeros = shape == 3;
        long[] entries = {0};
        try {
            StoreImage found = StoreReader.read(source(image, sectors, tailReadsZeros), sectors, tableChunk, 512, cowBlock, (o, n) -> {
                assertTrue(o >= 0 && n >= StoreLayout.FIRST_FREE_CHUNK, "an accepted entry " + o + " -> " + n);
                entries[0]++;
            });
            assertNotNull(found.kind());
            assertTrue(found.chunkSectors() > 0, "a chunk size: " + found.chunkSectors());
            if (found.kind() == StoreImage.Kind.VALID) {
                StoreLayout l = new StoreLayout(found.chunkSectors());
                assertEquals(entries[0], found.exceptions());
                assertTrue(found.nextFree() >= StoreLayout.FIRST_FREE_CHUNK);
                assertFalse(l.isMetadataChunk(found.nextFree()), "the next free chunk is never a metadata chunk");
                assertTrue(found.currentCommitted() >= 0 && found.currentCommitted() < l.exceptionsPerArea());
                assertTrue(l.areaChunk(found.currentArea()) < l.chunksIn(sectors), "the current area lies on the device");
                assertEquals(l.chunkBytes(), found.area().remaining());
            } else {
                assertEquals(0, entries[0], "a blank or invalid store hands out no exceptions");
            }
        } catch (StoreFormatException e) {
            assertNotNull(e.errno());
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a refusal names what was wrong");
        }
    }

    /** The device: the image, then (up to its size) zeros or failing reads; a read past its size fails. */
    private static StoreReader.ChunkSource source(byte[] image, long sectors, boolean tailReadsZeros) {
        return (sector, n) -> {
            long at = sector * 512;
            if (sector < 0 || at + n > sectors * 512) return CompletableFuture.failedFuture(new IOException("read beyond the end of the device"));
            if (at + n > image.length && !tailReadsZeros) return CompletableFuture.failedFuture(new IOException("medium error"));
            ByteBuffer out = ByteBuffer.allocate(n);
            if (at < image.length) out.put(image, (int) at, (int) Math.min(n, image.length - at));
            return CompletableFuture.completedFuture(out.clear());
        };
    }
}
