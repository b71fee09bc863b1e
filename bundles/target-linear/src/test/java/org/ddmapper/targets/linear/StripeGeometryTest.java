package org.ddmapper.targets.linear;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The stripe arithmetic against a model that deals chunks out one sector at a time. */
class StripeGeometryTest {

    @Test
    void everySectorLandsWhereTheModelPutsIt() {
        for (int stripes = 1; stripes <= 5; stripes++) {
            for (long chunk : new long[] {1, 3, 8, 12, 16, 32}) {
                StripeGeometry g = new StripeGeometry(stripes, chunk);
                long length = stripes * chunk * 4;
                long[] model = new long[stripes];
                for (long sector = 0; sector < length; sector++) {
                    int expectedStripe = (int) ((sector / chunk) % stripes);
                    assertEquals(expectedStripe, g.stripeOf(sector), "stripe of " + sector);
                    assertEquals(model[expectedStripe]++, g.sectorOnStripe(sector), "place of " + sector);
                }
            }
        }
    }

    @Test
    void aRangeCoversOneContiguousRangeOnEachStripe() {
        Random random = new Random(42);
        for (int stripes = 1; stripes <= 5; stripes++) for (long chunk : new long[] {8, 5}) {
            StripeGeometry g = new StripeGeometry(stripes, chunk);
            long length = stripes * chunk * 6;
            for (int round = 0; round < 300; round++) {
                long s = random.nextInt((int) length + 1);
                long e = s + random.nextInt((int) (length - s) + 1);
                for (int stripe = 0; stripe < stripes; stripe++) {
                    long min = Long.MAX_VALUE, max = -1, count = 0;
                    for (long sector = s; sector < e; sector++) {
                        if (g.stripeOf(sector) != stripe) continue;
                        long on = g.sectorOnStripe(sector);
                        min = Math.min(min, on);
                        max = Math.max(max, on);
                        count++;
                    }
                    long begin = g.boundOnStripe(s, stripe), end = g.boundOnStripe(e, stripe);
                    String what = "[" + s + "," + e + ") on stripe " + stripe + " of " + stripes;
                    assertEquals(count, Math.max(0, end - begin), what);
                    if (count > 0) {
                        assertEquals(min, begin, what);
                        assertEquals(max + 1, end, what);
                        assertEquals(count, max - min + 1, what + " is contiguous");
                    }
                }
            }
        }
    }

    @Test
    void chunkBoundaries() {
        StripeGeometry g = new StripeGeometry(2, 8);
        assertEquals(8, g.chunkEnd(0));
        assertEquals(8, g.chunkEnd(7));
        assertEquals(16, g.chunkEnd(8));
        assertEquals(1, g.chunksTouched(0, 8));
        assertEquals(2, g.chunksTouched(7, 9));
        assertEquals(3, g.chunksTouched(4, 20));
        StripeGeometry odd = new StripeGeometry(3, 12);
        assertEquals(12, odd.chunkEnd(0));
        assertEquals(24, odd.chunkEnd(12));
        assertEquals(24, odd.chunkEnd(23));
        assertEquals(2, odd.chunksTouched(11, 13));
        assertEquals(1, odd.stripeOf(12));
        assertEquals(12 + 5, odd.sectorOnStripe(36 + 5), "chunk 3 is stripe 0's second chunk");
    }
}
