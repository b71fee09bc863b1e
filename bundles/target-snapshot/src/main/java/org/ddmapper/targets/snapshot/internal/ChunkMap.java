package org.ddmapper.targets.snapshot.internal;

import java.util.Arrays;
import java.util.function.BiConsumer;

/**
 * A snapshot's completed exceptions: origin chunk to COW chunk, for chunk numbers from 0 to
 * {@code Long.MAX_VALUE}. Open addressing with linear probing over two parallel {@code long}
 * arrays, so an exception costs 32 bytes at most (half-full tables) and no object; removal shifts
 * the following entries back (no tombstones), as a merge removes exceptions one by one. Not
 * thread-safe: the owning snapshot guards it.
 */
final class ChunkMap {
    private static final long EMPTY = -1;
    private static final int MIN_CAPACITY = 64;

    private long[] keys;
    private long[] values;
    private int size;
    private int mask;

    ChunkMap() {
        allocate(MIN_CAPACITY);
    }

    int size() { return size; }

    /** The COW chunk of origin chunk {@code key}, or -1. */
    long get(long key) {
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == key) return values[i];
            if (k == EMPTY) return -1;
            i = (i + 1) & mask;
        }
    }

    boolean contains(long key) { return get(key) >= 0; }

    /** Maps {@code key} to {@code value} unless it is mapped already; returns whether it was added. */
    boolean putIfAbsent(long key, long value) {
        if (key < 0 || value < 0) throw new IllegalArgumentException("negative chunk " + key + " -> " + value);
        int i = slot(key);
        while (keys[i] != EMPTY) {
            if (keys[i] == key) return false;
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
        if (++size * 2 > keys.length) allocate(keys.length * 2);
        return true;
    }

    /** Removes {@code key}; returns its value, or -1 when it was not mapped. */
    long remove(long key) {
        int i = slot(key);
        while (keys[i] != key) {
            if (keys[i] == EMPTY) return -1;
            i = (i + 1) & mask;
        }
        long value = values[i];
        // shift back every following entry whose home slot does not lie between the hole and it
        int hole = i;
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            long k = keys[j];
            if (k == EMPTY) break;
            int home = slot(k);
            boolean movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                keys[hole] = k;
                values[hole] = values[j];
                hole = j;
            }
        }
        keys[hole] = EMPTY;
        size--;
        return value;
    }

    /** Every mapping, in no particular order. */
    void forEach(BiConsumer<Long, Long> action) {
        for (int i = 0; i < keys.length; i++) if (keys[i] != EMPTY) action.accept(keys[i], values[i]);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    private void allocate(int capacity) {
        long[] oldKeys = keys;
        long[] oldValues = values;
        keys = new long[capacity];
        values = new long[capacity];
        Arrays.fill(keys, EMPTY);
        mask = capacity - 1;
        size = 0;
        if (oldKeys == null) return;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] == EMPTY) continue;
            int s = slot(oldKeys[i]);
            while (keys[s] != EMPTY) s = (s + 1) & mask;
            keys[s] = oldKeys[i];
            values[s] = oldValues[i];
            size++;
        }
    }
}
