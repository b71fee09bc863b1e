package org.ddmapper.spi;

/** Constraints and capabilities a target type declares; the core enforces them. */
public enum TargetFeature {
    /** Must be the only target in its table. */
    SINGLETON,
    /** May replace any other type in a reload (like the kernel's error target). */
    WILDCARD,
    /** Accepts messages. */
    MESSAGES,
    /** Queues I/O inside the target (relevant to noflush suspend). */
    QUEUES_IO,
    /** Offers {@link Target#exportState()} for live upgrade. */
    STATE_HANDOVER,
    /**
     * Holds no data, so a FLUSH has nothing to make durable (the kernel's {@code num_flush_bios = 0},
     * as for error and zero): the core never sends a FLUSH to such a target and counts it as done.
     */
    NO_FLUSH
}
