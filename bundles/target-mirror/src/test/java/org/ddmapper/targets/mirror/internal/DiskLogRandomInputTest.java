package org.ddmapper.targets.mirror.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.ddmapper.targets.mirror.internal.LogSpec.SyncMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seeded random log images through the reader (a plain randomized test; a Jazzer fuzzer for the
 * reader is owed once the build has Jazzer): random bytes, a right magic with random versions and
 * region counts, truncated images, corrupt stale-leg records. The reader must always answer — a
 * result whose outcome and note say what it found — never throw, never take long, and keep its
 * answer within the table's regions.
 */
class DiskLogRandomInputTest {
    private static final long SEED = 0x4D695272L;

    @Test
    @Timeout(60)
    void everyImageGetsAnAnswerAndNothingEscapes() {
        Random random = new Random(SEED);
        int incompatible = 0;
        int fresh = 0;
        int loaded = 0;
        for (int round = 0; round < 20_000; round++) {
            long regions = 1 + random.nextInt(round % 10 == 0 ? 100_000 : 300);
            ByteBuffer image = randomImage(random, regions);
            SyncMode sync = SyncMode.values()[random.nextInt(3)];
            DiskLogFormat.Loaded l = DiskLogFormat.load(image, regions, sync);
            assertNotNull(l.outcome());
            long count = l.clean().count();
            assertTrue(count >= 0 && count <= regions, "clean count " + count + " of " + regions + " regions");
            assertEquals(-1, l.clean().nextClear(regions), "nothing past the table's regions");
            assertTrue(l.staleLegs().size() <= MirrorTable.MAX_LEGS);
            switch (l.outcome()) {
                case INCOMPATIBLE -> {
                    incompatible++;
                    assertTrue(l.note().contains("incompatible disk log version"), l.note());
                    assertEquals(0, count);
                }
                case NEW -> {
                    fresh++;
                    assertEquals(sync == SyncMode.NOSYNC ? regions : 0, count);
                }
                case LOADED -> loaded++;
            }
            if (image.limit() < DiskLogFormat.BITMAP_OFFSET + DiskLogFormat.bitmapBytes(regions))
                assertTrue(l.note() != null && l.note().startsWith("log image holds "), "a short image is said so: " + l.note());
        }
        assertTrue(incompatible > 100 && fresh > 100 && loaded > 100, "every outcome seen: " + incompatible + " " + fresh + " " + loaded);
    }

    private static ByteBuffer randomImage(Random random, long regions) {
        int full = (int) (DiskLogFormat.BITMAP_OFFSET + DiskLogFormat.bitmapBytes(regions));
        int length = switch (random.nextInt(4)) {
            case 0 -> random.nextInt(full + 1);          // truncated anywhere, even inside the header
            case 1 -> full + random.nextInt(4096);       // longer than needed
            default -> full;
        };
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (length >= 16 && random.nextInt(4) > 0) {
            b.putInt(0, DiskLogFormat.MAGIC);
            b.putInt(4, switch (random.nextInt(4)) {
                case 0 -> 1;
                case 1 -> 2;
                case 2 -> random.nextInt();
                default -> -1;
            });
            b.putLong(8, switch (random.nextInt(5)) {
                case 0 -> regions;
                case 1 -> random.nextLong();
                case 2 -> Long.MIN_VALUE;
                case 3 -> regions + random.nextInt(1000);
                default -> Math.max(0, regions - random.nextInt(1000));
            });
        }
        if (length >= 1024 && random.nextBoolean()) {
            // a record that looks like ours, with a count and checksum that may or may not hold
            byte[] magic = "DDMAPPER".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            for (int i = 0; i < 8; i++) b.put(512 + i, magic[i]);
            b.putInt(520, random.nextInt(3) == 0 ? random.nextInt() : 1);
            b.putInt(524, random.nextInt(3) == 0 ? random.nextInt() : random.nextInt(12));
        }
        return b;
    }
}
