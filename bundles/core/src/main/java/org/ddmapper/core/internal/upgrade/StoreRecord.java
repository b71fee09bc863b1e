package org.ddmapper.core.internal.upgrade;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * One line of the bundle store's history ({@code HOME/bundles/history}), oldest first:
 *
 * <pre>
 * 2026-12-07T17:40:01Z stored org.ddmapper.target.linear 0.1.1 from=0.1.0.SNAPSHOT image=0.1.0.SNAPSHOT
 * 2026-12-07T17:45:12Z reverted org.ddmapper.target.linear 0.1.1
 * 2026-12-07T17:46:30Z set-aside org.ddmapper.target.linear 0.1.2 reason=it does not start: …
 * </pre>
 *
 * A reason runs to the end of its line (a line break in it becomes a space). {@link #parse} reads a line
 * back or says what is wrong with it; the store skips (and logs) a line it cannot read.
 */
sealed interface StoreRecord {

    Instant at();

    String bundle();

    String version();

    /** A live upgrade stored {@code version} (its jar), upgraded from {@code from} over the image's {@code image}. */
    record Stored(Instant at, String bundle, String version, String from, String image) implements StoreRecord {
        public String line() { return StoreRecord.head(this, "stored") + " from=" + from + " image=" + image; }
    }

    /** {@code ddsetup upgrade --revert} dropped {@code version} (its jar is deleted). */
    record Reverted(Instant at, String bundle, String version) implements StoreRecord {
        public String line() { return StoreRecord.head(this, "reverted"); }
    }

    /** {@code version} failed to start at a boot and is no longer tried. */
    record SetAside(Instant at, String bundle, String version, String reason) implements StoreRecord {
        public SetAside { reason = reason.strip().replaceAll("\\s*[\\r\\n]+\\s*", " "); }

        public String line() { return StoreRecord.head(this, "set-aside") + " reason=" + reason; }
    }

    /** The history line of this record (without the line break). */
    String line();

    /** "TIME KIND BUNDLE VERSION": the start every line shares. */
    private static String head(StoreRecord r, String kind) {
        return r.at() + " " + kind + " " + r.bundle() + " " + r.version();
    }

    /** Reads one history line; throws IllegalArgumentException naming what is wrong. */
    static StoreRecord parse(String line) {
        String[] w = line.strip().split(" ", 5);
        if (w.length < 4) throw new IllegalArgumentException("expected TIME KIND BUNDLE VERSION …, got '" + line + "'");
        Instant at;
        try {
            at = Instant.parse(w[0]);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + w[0] + "' is not a UTC time");
        }
        for (int i = 2; i < 4; i++) if (w[i].isEmpty()) throw new IllegalArgumentException("empty field in '" + line + "'");
        String rest = w.length == 5 ? w[4] : "";
        return switch (w[1]) {
            case "stored" -> {
                String[] kv = rest.split(" ");
                if (kv.length != 2 || !kv[0].startsWith("from=") || !kv[1].startsWith("image="))
                    throw new IllegalArgumentException("a stored line ends with from=VERSION image=VERSION, got '" + rest + "'");
                yield new Stored(at, w[2], w[3], kv[0].substring(5), kv[1].substring(6));
            }
            case "reverted" -> {
                if (!rest.isEmpty()) throw new IllegalArgumentException("a reverted line ends after the version, got '" + rest + "'");
                yield new Reverted(at, w[2], w[3]);
            }
            case "set-aside" -> {
                if (!rest.startsWith("reason=")) throw new IllegalArgumentException("a set-aside line ends with reason=TEXT, got '" + rest + "'");
                yield new SetAside(at, w[2], w[3], rest.substring(7));
            }
            default -> throw new IllegalArgumentException("unknown kind '" + w[1] + "'");
        };
    }
}
