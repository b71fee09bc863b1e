package org.ddmapper.tools.powerloss;

/**
 * A moment the power could fail, as the replayed image shows it: after log entry {@code entry}
 * (its number in the log) of the given kind, with {@code lastMark} the newest mark logged before it
 * (null when none), and for a point between durability points, how many of the writes waiting for
 * the next flush were kept and dropped.
 */
public record CrashPoint(long entry, Kind kind, String lastMark, int kept, int dropped) {

    /** What kind of moment. */
    public enum Kind {
        /** A flush completed: everything written before it was sent is durable. */
        FLUSH,
        /** A FUA write completed: it is durable. */
        FUA,
        /** Between durability points: some of the writes a flush was about to cover reached the disk, some did not. */
        BETWEEN
    }

    @Override
    public String toString() {
        String where = kind == Kind.BETWEEN ? "before entry " + entry + " (" + kept + " of " + (kept + dropped) + " waiting writes kept)"
                : "at entry " + entry + " (" + kind.name().toLowerCase(java.util.Locale.ROOT) + ")";
        return where + (lastMark == null ? "" : ", last mark '" + lastMark + "'");
    }
}
