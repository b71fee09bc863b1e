package org.ddmapper.targets.fault;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ddmapper.spi.TableArgs;

/**
 * flakey's optional features as Linux 6.1 (dm-flakey 1.5.0) reads them from
 * {@code <#features> <feature>...}: {@code drop_writes} or {@code error_writes}, and
 * {@code corrupt_bio_byte <Nth_byte> <r|w> <value> <flags>} (keywords in any case), at most 6
 * words. What the down interval does follows from them as in 6.1: reads fail unless some feature
 * is given; writes are dropped (drop_writes), fail (error_writes), are corrupted and pass
 * (corrupt_bio_byte w), pass (corrupt_bio_byte r), or fail when no feature is given. The table
 * prints the features given, and {@code 0} when none.
 */
record FlakeyFeatures(boolean dropWrites, boolean errorWrites, Corruption corruptBioByte) {

    /** 6.1's limit on feature words. */
    static final int MAX_FEATURE_WORDS = 6;
    private static final long U32_MAX = 0xFFFF_FFFFL;

    /** corrupt_bio_byte: set byte {@code nthByte} (1-based) to {@code value} in reads or writes whose flags include {@code flagsMask}. */
    record Corruption(int nthByte, boolean onWrite, int value, long flagsMask) {
        @Override
        public String toString() {
            return "corrupt_bio_byte " + nthByte + " " + (onWrite ? 'w' : 'r') + " " + value + " " + flagsMask;
        }
    }

    /** Whether a read fails while down: only when no feature was given. */
    boolean errorReads() { return !dropWrites && !errorWrites && corruptBioByte == null; }

    /** Whether a write (or any other request that is not a read) fails while down. */
    boolean failsWrites() { return errorWrites || errorReads(); }

    boolean corruptsReads() { return corruptBioByte != null && !corruptBioByte.onWrite(); }

    boolean corruptsWrites() { return corruptBioByte != null && corruptBioByte.onWrite(); }

    /** Reads the feature group, if any words are left. */
    static FlakeyFeatures next(TableArgs args) {
        boolean dropWrites = false, errorWrites = false;
        Corruption corrupt = null;
        TableArgs group = args.hasNext() ? args.nextGroup("feature count", MAX_FEATURE_WORDS) : args;
        while (group.hasNext()) {
            String word = group.next("feature");
            switch (word.toLowerCase(Locale.ROOT)) {
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
                default -> throw group.error("unknown feature '" + word + "' (Linux 6.1's flakey has drop_writes, error_writes, corrupt_bio_byte)");
            }
        }
        FlakeyFeatures f = new FlakeyFeatures(dropWrites, errorWrites, corrupt);
        if (f.corruptsWrites() && (dropWrites || errorWrites))
            throw args.error("feature " + (dropWrites ? "drop_writes" : "error_writes") + " conflicts with corrupt_bio_byte w");
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

    /** {@code <n> <features...> } as 6.1's TABLE line writes them: the count always, and a blank after each word. */
    String tableText() {
        List<String> words = new ArrayList<>();
        if (dropWrites) words.add("drop_writes");
        else if (errorWrites) words.add("error_writes");
        if (corruptBioByte != null) words.addAll(List.of(corruptBioByte.toString().split(" ")));
        StringBuilder sb = new StringBuilder().append(words.size()).append(' ');
        for (String w : words) sb.append(w).append(' ');
        return sb.toString();
    }
}
