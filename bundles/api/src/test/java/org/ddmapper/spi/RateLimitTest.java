package org.ddmapper.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RateLimitTest {
    @Test
    void noLimitMeansNoWait() {
        RateLimit r = new RateLimit();
        for (int i = 0; i < 10; i++) assertEquals(0, r.delayNanos(1 << 20));
    }

    @Test
    void startsAreSpacedByTheBytesAtTheRate() {
        RateLimit r = new RateLimit();
        r.set(1 << 20); // 1 MiB/s
        long a = System.nanoTime();
        assertEquals(0, r.delayNanos(512 << 10));
        long b = System.nanoTime();
        long second = r.delayNanos(512 << 10);
        long c = System.nanoTime();
        long third = r.delayNanos(512 << 10);
        long d = System.nanoTime();
        // the first call's moment plus half a second per 512 KiB, minus the later call's moment
        long half = 500_000_000L;
        assertTrue(second >= a + half - c && second <= b + half - b, "second " + second);
        assertTrue(third >= a + 2 * half - d && third <= b + 2 * half - c, "third " + third);
        r.set(0);
        assertEquals(0, r.delayNanos(1 << 30));
        assertThrows(IllegalArgumentException.class, () -> r.set(-1));
    }
}
