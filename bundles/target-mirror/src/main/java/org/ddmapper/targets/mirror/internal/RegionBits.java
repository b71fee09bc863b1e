package org.ddmapper.targets.mirror.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A fixed-size bitmap of regions in the kernel's dm-log layout: bit {@code r} is bit {@code r % 8}
 * of byte {@code r / 8} (little-endian bit numbering, {@code test_bit_le}), padded to whole 64-bit
 * words. Reads are lock-free (the words are volatile); writers serialise among themselves (the
 * region table's lock), so a set or clear never loses a concurrent one.
 */
final class RegionBits {
    private final long size;
    private final AtomicLongArray words;

    RegionBits(long size) {
        if (size < 0 || size > 0xFFFF_FFFFL) throw new IllegalArgumentException("region count out of range: " + size);
        this.size = size;
        this.words = new AtomicLongArray((int) wordCount(size));
    }

    /** 64-bit words for {@code bits} bits. */
    static long wordCount(long bits) { return (bits + 63) >>> 6; }

    long size() { return size; }

    boolean get(long bit) {
        return (words.get((int) (bit >>> 6)) & (1L << (bit & 63))) != 0;
    }

    void set(long bit) {
        int w = (int) (bit >>> 6);
        words.set(w, words.get(w) | (1L << (bit & 63)));
    }

    void clear(long bit) {
        int w = (int) (bit >>> 6);
        words.set(w, words.get(w) & ~(1L << (bit & 63)));
    }

    /** Sets or clears every bit below {@link #size()}; bits past it stay clear. */
    void fill(boolean value) {
        for (int w = 0; w < words.length(); w++) words.set(w, value ? -1L : 0L);
        if (value) clearPadding();
    }

    /** Whether every bit in {@code [from, to)} is set. */
    boolean allSet(long from, long to) {
        for (long b = from; b < to; b++) if (!get(b)) return false;
        return true;
    }

    long count() {
        long n = 0;
        for (int w = 0; w < words.length(); w++) n += Long.bitCount(words.get(w));
        return n;
    }

    /** The first clear bit at or after {@code from}, or -1. */
    long nextClear(long from) {
        if (from >= size) return -1;
        int w = (int) (from >>> 6);
        long word = ~words.get(w) & (-1L << (from & 63));
        while (true) {
            if (word != 0) {
                long bit = ((long) w << 6) + Long.numberOfTrailingZeros(word);
                return bit < size ? bit : -1;
            }
            if (++w >= words.length()) return -1;
            word = ~words.get(w);
        }
    }

    void copyFrom(RegionBits other) {
        for (int w = 0; w < words.length(); w++) words.set(w, other.words.get(w));
    }

    /** Writes the words little-endian at {@code into}'s position (8 bytes each), advancing it. */
    void writeTo(ByteBuffer into) {
        ByteBuffer le = into.slice().order(ByteOrder.LITTLE_ENDIAN);
        for (int w = 0; w < words.length(); w++) le.putLong(words.get(w));
        into.position(into.position() + words.length() * 8);
    }

    /** Reads the words little-endian from {@code from}'s position, then clears the bits past {@link #size()}. */
    void readFrom(ByteBuffer from) {
        ByteBuffer le = from.slice().order(ByteOrder.LITTLE_ENDIAN);
        for (int w = 0; w < words.length(); w++) words.set(w, le.getLong());
        from.position(from.position() + words.length() * 8);
        clearPadding();
    }

    /** Clears the bits of the last word past the region count (the kernel's "device has shrunk" step). */
    private void clearPadding() {
        int tail = (int) (size & 63);
        if (tail != 0) {
            int last = words.length() - 1;
            words.set(last, words.get(last) & ((1L << tail) - 1));
        }
    }

    /** The words as bytes, for handing state over. */
    byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(words.length() * 8);
        writeTo(b);
        return b.array();
    }
}
