package org.ddmapper.targets.snapshot.internal.store;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The store reader on outside input: thousands of seeded random COW images — valid stores with
 * corrupted headers, bytes flipped in areas, wild chunk numbers, truncated devices, random noise —
 * must each end in a store image or a {@link StoreFormatException} with a message, never another
 * exception and never a hang; and whatever it accepts must be self-consistent. (A plain seeded
 * test: Jazzer is not in the build yet; see the bundle README.)
 */
class StoreReaderFuzzTest {
    private static final int ROUNDS = 4000;

    @Test
    @Timeout(120)
    void randomCorruptionsEndInAnImageOrAClearError() {
        Random rnd = new Random(0x5eed5eedL);
        int accepted = 0;
        int refused = 0;
        for (int round = 0; round < ROUNDS; round++) {
            int chunk = 1 << rnd.nextInt(5); // 1..16 sectors: many areas in a small image
            long cowSectors = chunk * (2 + rnd.nextInt(200));
            byte[] image = validStore(rnd, cowSectors, chunk);
            corrupt(rnd, image, chunk);
            long claimedSectors = rnd.nextInt(8) == 0 ? rnd.nextInt((int) cowSectors + 1) : cowSectors; // sometimes a "truncated" device
            int tableChunk = rnd.nextInt(4) == 0 ? 0 : 1 << rnd.nextInt(8);
            long[] count = {0};
            try {
                StoreImage result = StoreReader.read(source(image), claimedSectors, tableChunk, 512, 512, (o, n) -> {
                    assertTrue(o >= 0 && n > 0, "an accepted entry " + o + " -> " + n);
                    count[0]++;
                });
                accepted++;
                if (result.kind() == StoreImage.Kind.VALID) {
                    StoreLayout l = new StoreLayout(result.chunkSectors());
                    assertEquals(count[0], result.exceptions());
                    assertTrue(result.nextFree() >= StoreLayout.FIRST_FREE_CHUNK);
                    assertFalse(l.isMetadataChunk(result.nextFree()), "next free is never a metadata chunk");
                    assertTrue(result.currentCommitted() < l.exceptionsPerArea());
                    assertTrue(l.areaChunk(result.currentArea()) < l.chunksIn(claimedSectors));
                }
            } catch (StoreFormatException e) {
                refused++;
                assertNotNull(e.getMessage());
                assertFalse(e.getMessage().isBlank());
                assertNotNull(e.errno());
            }
        }
        assertTrue(accepted > ROUNDS / 10 && refused > ROUNDS / 10, "both outcomes were exercised: " + accepted + " accepted, " + refused + " refused");
    }

    @Test
    @Timeout(60)
    void pureNoiseNeverEscapes() {
        Random rnd = new Random(7);
        for (int round = 0; round < 2000; round++) {
            byte[] image = new byte[512 * (1 + rnd.nextInt(64))];
            rnd.nextBytes(image);
            if (rnd.nextBoolean()) ByteBuffer.wrap(image).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, DiskHeader.MAGIC).putInt(8, 1);
            try {
                StoreReader.read(source(image), image.length / 512, rnd.nextInt(3) * 8, 512, 512, (o, n) -> { });
            } catch (StoreFormatException e) {
                assertFalse(e.getMessage().isBlank());
            }
        }
    }

    /** A valid store: header, then areas filled in the kernel's allocation order, the last one part full. */
    private static byte[] validStore(Random rnd, long cowSectors, int chunk) {
        StoreBytes b = new StoreBytes(cowSectors, chunk).validHeader();
        StoreLayout l = b.layout();
        long chunks = l.chunksIn(cowSectors);
        long next = StoreLayout.FIRST_FREE_CHUNK;
        long area = 0;
        int index = 0;
        int wanted = rnd.nextInt((int) Math.max(1, chunks));
        for (int i = 0; i < wanted && next + 1 < chunks; i++) {
            if (l.areaChunk(area + (index + 1 == l.exceptionsPerArea() ? 1 : 0)) >= chunks) break;
            b.entry(area, index, rnd.nextInt(1 << 20), next);
            next = l.nextAfter(next);
            if (++index == l.exceptionsPerArea()) {
                index = 0;
                area++;
            }
        }
        return b.bytes();
    }

    private static void corrupt(Random rnd, byte[] image, int chunk) {
        ByteBuffer b = ByteBuffer.wrap(image).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        switch (rnd.nextInt(8)) {
            case 0 -> { } // left valid
            case 1 -> b.putInt(rnd.nextInt(4) * 4, rnd.nextInt()); // a header field
            case 2 -> { // flipped bytes anywhere
                for (int i = rnd.nextInt(20); i >= 0; i--) image[rnd.nextInt(image.length)] ^= (byte) (1 + rnd.nextInt(255));
            }
            case 3 -> { // a wild chunk number in an area entry
                int at = chunk * 512 + 16 * rnd.nextInt(Math.max(1, chunk * 512 / 16));
                if (at + 16 <= image.length) b.putLong(at + (rnd.nextBoolean() ? 0 : 8), rnd.nextLong());
            }
            case 4 -> Arrays.fill(image, chunk * 512, Math.min(image.length, chunk * 512 * 2), (byte) 0xff); // area 0 all ones: full, wild
            case 5 -> b.putInt(12, 1 << rnd.nextInt(31)); // another chunk size
            case 6 -> Arrays.fill(image, 0, 16, (byte) 0); // blank
            default -> { // a plausible but odd entry: metadata chunk or the header as the new chunk
                int at = chunk * 512 + 16 * rnd.nextInt(Math.max(1, chunk * 512 / 16));
                if (at + 16 <= image.length) b.putLong(at + 8, rnd.nextBoolean() ? 1 : chunk * 512L / 16 + 2);
            }
        }
    }

    private static StoreReader.ChunkSource source(byte[] image) {
        return (sector, n) -> {
            long at = sector * 512;
            if (at < 0 || at + n > image.length) return CompletableFuture.failedFuture(new java.io.IOException("beyond the end"));
            return CompletableFuture.completedFuture(ByteBuffer.wrap(Arrays.copyOfRange(image, (int) at, (int) at + n)));
        };
    }
}
