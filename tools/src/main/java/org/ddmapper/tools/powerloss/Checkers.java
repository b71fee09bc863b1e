package org.ddmapper.tools.powerloss;

import java.nio.file.Path;
import java.util.Map;

/**
 * The invariant checkers {@code powerloss --check NAME} knows, each made from the command line's
 * options. A new on-disk format adds its checker here.
 */
public final class Checkers {
    private Checkers() {}

    /**
     * The checker called {@code name}; options are {@code --journal}, {@code --fio-block}, for
     * {@code snapshot} {@code --origin-sectors} and {@code --base}, for {@code mirror}
     * {@code --leg-sectors} and {@code --region-sectors}.
     */
    public static InvariantChecker create(String name, Map<String, String> options) throws java.io.IOException {
        return switch (name) {
            case "verifier" -> new VerifierInvariant(Path.of(required(options, "journal", name)));
            case "fio" -> new FioInvariant(Integer.parseInt(options.getOrDefault("fio-block", "4096")));
            case "snapshot" -> new SnapshotInvariant(Path.of(required(options, "journal", name)),
                    Long.parseLong(required(options, "origin-sectors", name)), Path.of(required(options, "base", name)));
            case "mirror" -> new MirrorInvariant(Path.of(required(options, "journal", name)), Long.parseLong(required(options, "leg-sectors", name)),
                    Long.parseLong(required(options, "region-sectors", name)));
            default -> throw new IllegalArgumentException("unknown checker '" + name + "' (known: verifier, fio, snapshot, mirror)");
        };
    }

    private static String required(Map<String, String> options, String option, String checker) {
        String v = options.get(option);
        if (v == null) throw new IllegalArgumentException("checker " + checker + " needs --" + option);
        return v;
    }
}
