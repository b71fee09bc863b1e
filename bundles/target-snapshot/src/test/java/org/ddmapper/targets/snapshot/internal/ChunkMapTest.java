package org.ddmapper.targets.snapshot.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkMapTest {

    @Test
    void behavesAsAMapUnderRandomInsertsAndRemovals() {
        Random rnd = new Random(42);
        ChunkMap map = new ChunkMap();
        Map<Long, Long> reference = new HashMap<>();
        for (int i = 0; i < 200_000; i++) {
            long key = rnd.nextInt(5000) * (rnd.nextBoolean() ? 1L : 1_000_003L);
            if (rnd.nextInt(3) == 0) {
                Long expected = reference.remove(key);
                assertEquals(expected == null ? -1 : expected, map.remove(key), "remove " + key);
            } else {
                long value = rnd.nextInt(1 << 30);
                boolean added = map.putIfAbsent(key, value);
                assertEquals(!reference.containsKey(key), added, "put " + key);
                reference.putIfAbsent(key, value);
            }
            if (i % 997 == 0) {
                assertEquals(reference.size(), map.size());
                for (var e : reference.entrySet()) assertEquals(e.getValue(), map.get(e.getKey()));
            }
        }
        Map<Long, Long> seen = new HashMap<>();
        map.forEach(seen::put);
        assertEquals(reference, seen);
    }

    @Test
    void refusesNegativeChunksAndAnswersMinusOneForUnmapped() {
        ChunkMap map = new ChunkMap();
        assertEquals(-1, map.get(7));
        assertThrows(IllegalArgumentException.class, () -> map.putIfAbsent(-1, 2));
        assertTrue(map.putIfAbsent(Long.MAX_VALUE, 3));
        assertEquals(3, map.get(Long.MAX_VALUE));
        assertFalse(map.putIfAbsent(Long.MAX_VALUE, 4), "the first mapping stays, as the kernel keeps the first exception it loads");
    }
}
