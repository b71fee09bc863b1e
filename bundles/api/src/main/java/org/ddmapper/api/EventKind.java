package org.ddmapper.api;

/**
 * The kinds of device event. Each carries its details as key/value pairs in {@link DeviceEvent#details()},
 * read as a typed record by {@link DeviceEvent#payload()} (one {@link EventPayload} record per kind).
 * Every event has a number in its device's event stream; only those the kernel counts move the
 * device's event number ({@link #countsInEventNr()}).
 */
public enum EventKind {
    /** A device was created (details: none). */
    CREATED,
    /** A table was loaded into the inactive slot (details: targets). */
    TABLE_LOADED,
    /** The inactive table was swapped in and is now live (details: targets, size in sectors). */
    TABLE_LIVE,
    /** The inactive slot was cleared. */
    TABLE_CLEARED,
    /** The device was suspended (details: noflush, held). */
    SUSPENDED,
    /** The device was resumed (details: replayed). */
    RESUMED,
    /** The device was renamed (details: from, to). */
    RENAMED,
    /** The device was removed (details: force, failed; reason when a failed create was undone). */
    REMOVED,
    /** A multipath path failed (details: path, number, group, reason, fail_count, valid_paths, retried). */
    PATH_FAILED,
    /** A multipath path came back (details: path, number, group, reason, valid_paths). */
    PATH_REINSTATED,
    /** A path was held out by flap damping (details: path, number, failures, window and hold in seconds, reason). */
    PATH_DAMPED,
    /** A multipath priority group was bypassed (details: group, bypassed 1|0, reason). */
    PG_BYPASSED,
    /** The current priority group changed (details: from, to, reason, requested 1|0; see {@link EventPayload.PgSwitched}). */
    PG_SWITCHED,
    /** Queueing with no path changed (details: queue_if_no_path 1|0, reason, queued). */
    QUEUE_MODE_CHANGED,
    /** A striped leg returned an error (details: stripe, device, errors, errno). */
    STRIPE_ERROR,
    /** A mirror is in sync on every leg (details: regions copied to get there). */
    MIRROR_RECOVERY_COMPLETE,
    /** A mirror leg failed (details: leg, device; state and error when known). */
    MIRROR_LEG_FAILED,
    /** A mirror's log failed (details: device; state and error when known). */
    MIRROR_LOG_FAILED,
    /** A snapshot became invalid (details: reason). */
    SNAPSHOT_INVALID,
    /** A snapshot's COW store is full (details: allocated, total). */
    SNAPSHOT_OVERFLOW,
    /** A snapshot-merge finished: every exception is back in the origin (details: chunks, elapsed_ms). */
    SNAPSHOT_MERGE_COMPLETE,
    /** A snapshot-merge stopped on an error (details: reason, chunks_left). */
    SNAPSHOT_MERGE_FAILED,
    /** A target type this device uses went away; the device waits for it (details: type; reason when its table could not be rebuilt). */
    TARGET_TYPE_MISSING,
    /** A target or checker bundle was swapped under the device (details: bundle, from, to, stall_ms; type and replayed for a target type, checker for checkers). */
    BUNDLE_SWAPPED,
    /** An upgrade was rolled back (details: bundle, from, to, reason, stall_ms). */
    BUNDLE_ROLLED_BACK,
    /** A stored upgraded version of a bundle failed to start at boot and was set aside (details: bundle, version, running, reason). */
    BUNDLE_SET_ASIDE,
    /** A target's own state changed in a way worth telling (details: target-specific). */
    TARGET_EVENT;

    /**
     * Whether events of this kind move the device's event number ({@link DeviceInfo#eventNr()}:
     * what {@code ddsetup info} prints and {@code wait} waits on) as Linux moves a dm device's
     * event_nr: the events its targets raise ({@code dm_table_event}: a path failed or came back,
     * a group was switched or bypassed, a stripe, mirror or snapshot event) and a rename. The
     * core's own steps (create, load, resume, suspend, clear, remove) and ddmapper's additions
     * (queueing changes, flap damping, a missing type, bundle swaps) are in the event stream only.
     * For one event, {@link DeviceEvent#countsInEventNr()} decides (a group switch nobody asked
     * for does not count).
     */
    public boolean countsInEventNr() {
        return switch (this) {
            case RENAMED, PATH_FAILED, PATH_REINSTATED, PG_BYPASSED, PG_SWITCHED, STRIPE_ERROR, MIRROR_RECOVERY_COMPLETE,
                    MIRROR_LEG_FAILED, MIRROR_LOG_FAILED, SNAPSHOT_INVALID, SNAPSHOT_OVERFLOW, TARGET_EVENT -> true;
            default -> false;
        };
    }
}
