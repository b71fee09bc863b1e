package org.ddmapper.targets.fault;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ddmapper.spi.TableArgs;

/**
 * flakey's optional features, read from {@code <#features> <feature>...} the kernel's way:
 * {@code error_reads}, {@code drop_writes} or {@code error_writes},
 * {@code corrupt_bio_byte <Nth_byte> <r|w> <value> <flags>},
 * {@code random_read_corrupt <p>}, {@code random_write_corrupt <p>} (p in units of 1e-9).
 * With none that changes anything, reads and writes both fail while down (error_reads and
 * error_writes are set, and the table shows them).
 */
record FlakeyFeatures(boolean errorReads, boolean dropWrites, boolean errorWrites, Corruption corruptBioByte,
                      long randomReadCorrupt, long randomWriteCorrupt) {

    /** The kernel's limit on feature words. */
    static final int MAX_FEATURE_WORDS = 11;
    /** Random corruption probabilities count in units of 1/PROBABILITY_BASE. */
    static final long PROBABILITY_BASE = 1_000_000_000L;
    private static final long U32_MAX = 0xFFFF_FFFFL;

    /** corrupt_bio_byte: set byte {@code nthByte} (1-based) to {@code value} in reads or writes whose flags include {@code flagsMask}. */
    record Corruption(int nthByte, boolean onWrite, int value, long flagsMask) {
        @Override
        public String toString() {
            return "corrupt_bio_byte " + nthByte + " " + (onWrite ? 'w' : 'r') + " " + value + " " + flagsMask;
        }
    }

    boolean corruptsReads() {
        return (corruptBioByte != null && !corruptBioByte.onWrite()) || randomReadCorrupt > 0;
    }

    boolean corruptsWrites() {
        return (corruptBioByte != null && corruptBioByte.onWrite()) || randomWriteCorrupt > 0;
    }

    /** Reads the feature group, if any words are left. */
    static FlakeyFeatures next(TableArgs args) {
        boolean errorReads = false, dropWrites = false, errorWrites = false;
        Corruption corrupt = null;
        long randomRead = -1, randomWrite = -1;
        TableArgs group = args.hasNext() ? args.nextGroup("feature count", MAX_FEATURE_WORDS) : args;
        while (group.hasNext()) {
            String word = group.next("feature");
            switch (word.toLowerCase(Locale.ROOT)) {
                case "error_reads" -> errorReads = once(group, "error_reads", errorReads);
                case "drop_writes" -> {
                    dropWrites = once(group, "drop_writes", dropWrites);
                    if (errorWrites) throw group.error("feature drop_writes conflicts with error_writes");
                }
                case "error_writes" -> {
                    errorWrites = once(group, "error_writes", errorWrites);
                    if (dropWrites) throw group.error("feature error_writes conflicts with drop_writes");
                }
                case "corrupt_bio_byte" -> {
                    once(group, "corrupt_bio_byte", corrupt != null);
                    if (group.remaining() < 4)
                        throw group.error("feature corrupt_bio_byte needs 4 parameters: <Nth_byte> <r|w> <value> <flags>");
                    int nth = group.nextInt("corrupt_bio_byte byte number", 1, Integer.MAX_VALUE);
                    boolean onWrite = direction(group);
                    int value = group.nextInt("corrupt_bio_byte value", 0, 255);
                    long flags = group.nextUnsigned("corrupt_bio_byte flags", U32_MAX);
                    corrupt = new Corruption(nth, onWrite, value, flags);
                }
                case "random_read_corrupt" -> {
                    once(group, "random_read_corrupt", randomRead >= 0);
                    randomRead = group.nextUnsigned("random_read_corrupt probability", PROBABILITY_BASE);
                }
                case "random_write_corrupt" -> {
                    once(group, "random_write_corrupt", randomWrite >= 0);
                    randomWrite = group.nextUnsigned("random_write_corrupt probability", PROBABILITY_BASE);
                }
                default -> throw group.error("unknown feature '" + word + "'");
            }
        }
        FlakeyFeatures f = new FlakeyFeatures(errorReads, dropWrites, errorWrites, corrupt,
                Math.max(0, randomRead), Math.max(0, randomWrite));
        if (f.corruptsWrites() && (dropWrites || errorWrites))
            throw args.error("feature " + (dropWrites ? "drop_writes" : "error_writes")
                    + " conflicts with corrupting writes (corrupt_bio_byte w, random_write_corrupt)");
        if (f.corruptsReads() && errorReads)
            throw args.error("feature error_reads conflicts with corrupting reads (corrupt_bio_byte r, random_read_corrupt)");
        if (!errorReads && !dropWrites && !errorWrites && !f.corruptsReads() && !f.corruptsWrites())
            return new FlakeyFeatures(true, false, true, null, 0, 0);
        return f;
    }

    private static boolean once(TableArgs group, String feature, boolean alreadySet) {
        if (alreadySet) throw group.error("feature " + feature + " given twice");
        return true;
    }

    private static boolean direction(TableArgs group) {
        String word = group.next("corrupt_bio_byte direction");
        if (word.equalsIgnoreCase("w")) return true;
        if (word.equalsIgnoreCase("r")) return false;
        throw group.error("invalid corrupt_bio_byte direction '" + word + "' (r or w)");
    }

    /** {@code <n> <features...>} as the kernel's TABLE line writes them (count always present). */
    String tableText() {
        List<String> words = new ArrayList<>();
        if (errorReads) words.add("error_reads");
        if (dropWrites) words.add("drop_writes");
        else if (errorWrites) words.add("error_writes");
        if (corruptBioByte != null) words.addAll(List.of(corruptBioByte.toString().split(" ")));
        if (randomReadCorrupt > 0) words.addAll(List.of("random_read_corrupt", Long.toString(randomReadCorrupt)));
        if (randomWriteCorrupt > 0) words.addAll(List.of("random_write_corrupt", Long.toString(randomWriteCorrupt)));
        return words.isEmpty() ? "0" : words.size() + " " + String.join(" ", words);
    }
}
