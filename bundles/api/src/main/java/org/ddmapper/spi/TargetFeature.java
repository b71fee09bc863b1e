package org.ddmapper.spi;

/**
 * Constraints and capabilities a target type declares; the core reads each one (the kernel's
 * {@code DM_TARGET_*} flags that we keep).
 */
public enum TargetFeature {
    /** Must be the only target in its table: a table of two or more lines naming it is refused at load. */
    SINGLETON,
    /**
     * Never read by the core (we have no immutable target types for it to replace); declaring it
     * changes nothing.
     *
     * @deprecated since 1.4, to be removed at 2.0.
     */
    @Deprecated
    WILDCARD,
    /** Accepts messages; a message to a target of a type without it is refused with EINVAL. */
    MESSAGES,
    /**
     * Never read by the core: every target may queue I/O and hand it back with REQUEUE on a noflush
     * presuspend; declaring it changes nothing.
     *
     * @deprecated since 1.4, to be removed at 2.0.
     */
    @Deprecated
    QUEUES_IO,
    /**
     * Hands state over in a live upgrade: the core asks {@link Target#exportState()} of the old
     * version's targets and gives it to {@link Target#importState} of the new one only when both
     * types declare it.
     */
    STATE_HANDOVER,
    /**
     * Holds no data, so a FLUSH has nothing to make durable (the kernel's {@code num_flush_bios = 0},
     * as for error and zero): the core never sends a FLUSH to such a target and counts it as done.
     */
    NO_FLUSH
}
