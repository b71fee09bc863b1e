package org.ddmapper.targets.multipath.internal.monitor;

/** multipath.conf {@code failback}: when to go back to a better priority group. */
public sealed interface Failback {
    /** Never by itself (the default). */
    record Manual() implements Failback {}

    /** As soon as a better group has a usable path. */
    record Immediate() implements Failback {}

    /** Only when the first path of a group comes back (not when another node moved the map away). */
    record Followover() implements Failback {}

    /** {@code seconds} after a better group's path comes back. */
    record Deferred(long seconds) implements Failback {}

    static Failback parse(String word) {
        return switch (word) {
            case "manual" -> new Manual();
            case "immediate" -> new Immediate();
            case "followover" -> new Followover();
            default -> new Deferred(MultipathConf.positiveWholeNumber(word, "failback",
                    "manual, immediate, followover or a number of seconds"));
        };
    }
}
