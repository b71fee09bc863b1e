package org.ddmapper.tools.powerloss;

import java.nio.file.Path;
import java.util.Map;

/**
 * The invariant checkers {@code powerloss --check NAME} knows, each made from the command line's
 * options. A new on-disk format adds its checker here.
 */
public final class Checkers {
    private Checkers() {}

    /** The checker called {@code name}; options are {@code --journal}, {@code --fio-block}. */
    public static InvariantChecker create(String name, Map<String, String> options) {
        return switch (name) {
            case "verifier" -> new VerifierInvariant(Path.of(required(options, "journal", name)));
            case "fio" -> new FioInvariant(Integer.parseInt(options.getOrDefault("fio-block", "4096")));
            default -> throw new IllegalArgumentException("unknown checker '" + name + "' (known: verifier, fio)");
        };
    }

    private static String required(Map<String, String> options, String option, String checker) {
        String v = options.get(option);
        if (v == null) throw new IllegalArgumentException("checker " + checker + " needs --" + option);
        return v;
    }
}
