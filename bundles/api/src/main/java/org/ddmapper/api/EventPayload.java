package org.ddmapper.api;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The typed payload of a {@link DeviceEvent}, one record per {@link EventKind}. The wire and text
 * form stays the key/value map ({@link DeviceEvent#details()}); {@link #parse} reads a payload
 * from it and {@link #details()} writes it back. A map that misses a required key, or holds a
 * number that does not parse, gives an {@link Unparsed} payload naming the problem — never an
 * exception — so a consumer can switch over the family and still see every event.
 *
 * <p>Optional keys read as {@code ""} (text) or {@code 0} (numbers) when absent and are left out
 * of {@link #details()} again when they have those values.
 */
public sealed interface EventPayload {

    /** The kind of event this payload belongs to. */
    EventKind kind();

    /** The key/value form, as carried on the wire and printed by {@code ddsetup events}. */
    Map<String, String> details();

    /** A device was created. */
    record Created() implements EventPayload {
        public EventKind kind() { return EventKind.CREATED; }
        public Map<String, String> details() { return Map.of(); }
    }

    /** A table of {@code targets} lines was loaded into the inactive slot. */
    record TableLoaded(int targets) implements EventPayload {
        public EventKind kind() { return EventKind.TABLE_LOADED; }
        public Map<String, String> details() { return map("targets", targets); }
    }

    /** The inactive table went live. */
    record TableLive(int targets, long sizeSectors) implements EventPayload {
        public EventKind kind() { return EventKind.TABLE_LIVE; }
        public Map<String, String> details() { return map("targets", targets, "size", sizeSectors); }
    }

    /** The inactive slot was cleared. */
    record TableCleared() implements EventPayload {
        public EventKind kind() { return EventKind.TABLE_CLEARED; }
        public Map<String, String> details() { return Map.of(); }
    }

    /** The device was suspended; {@code held} requests were kept for the next table (noflush). */
    record Suspended(boolean noflush, int held) implements EventPayload {
        public EventKind kind() { return EventKind.SUSPENDED; }
        public Map<String, String> details() { return map("noflush", noflush, "held", held); }
    }

    /** The device was resumed; {@code replayed} held requests were sent to the live table. */
    record Resumed(int replayed) implements EventPayload {
        public EventKind kind() { return EventKind.RESUMED; }
        public Map<String, String> details() { return map("replayed", replayed); }
    }

    /** The device was renamed. */
    record Renamed(String from, String to) implements EventPayload {
        public EventKind kind() { return EventKind.RENAMED; }
        public Map<String, String> details() { return map("from", from, "to", to); }
    }

    /** The device was removed; {@code failed} requests were failed by a forced remove; {@code reason} is set when a create was undone. */
    record Removed(boolean force, int failed, String reason) implements EventPayload {
        public EventKind kind() { return EventKind.REMOVED; }
        public Map<String, String> details() { return optional(map("force", force, "failed", failed), "reason", reason); }
    }

    /**
     * A multipath path failed (path as written, its number and group, 1-based); {@code retried}
     * requests that were in flight on it were sent down another path (0 when not told).
     */
    record PathFailed(String path, int number, int group, String reason, int failCount, int validPaths, int retried)
            implements EventPayload {
        public EventKind kind() { return EventKind.PATH_FAILED; }
        public Map<String, String> details() {
            return map("path", path, "number", number, "group", group, "reason", reason, "fail_count", failCount, "valid_paths", validPaths,
                    "retried", retried);
        }
    }

    /** A multipath path came back. */
    record PathReinstated(String path, int number, int group, String reason, int validPaths) implements EventPayload {
        public EventKind kind() { return EventKind.PATH_REINSTATED; }
        public Map<String, String> details() {
            return map("path", path, "number", number, "group", group, "reason", reason, "valid_paths", validPaths);
        }
    }

    /** A path is held out by flap damping: {@code failures} within {@code windowMillis}, held for {@code holdMillis}. */
    record PathDamped(String path, int number, int failures, long windowMillis, long holdMillis, String reason) implements EventPayload {
        public EventKind kind() { return EventKind.PATH_DAMPED; }
        public Map<String, String> details() {
            return map("path", path, "number", number, "failures", failures, "window", seconds(windowMillis),
                    "hold", seconds(holdMillis), "reason", reason);
        }
    }

    /** Priority group {@code group} was bypassed (or enabled again when {@code bypassed} is false). */
    record PgBypassed(int group, boolean bypassed, String reason) implements EventPayload {
        public EventKind kind() { return EventKind.PG_BYPASSED; }
        public Map<String, String> details() { return map("group", group, "bypassed", bypassed ? 1 : 0, "reason", reason); }
    }

    /**
     * The priority group in use changed ({@code from} is 0 when none was in use): {@code requested}
     * by a switch_group message or the path monitor's failback (counted in the device's event
     * number, as the kernel counts switch_group), or not, when I/O moved to another group because
     * paths failed (the kernel counts the path failure, not the move).
     */
    record PgSwitched(int from, int to, String reason, boolean requested) implements EventPayload {
        /** A requested switch (the form before {@code requested} existed). */
        public PgSwitched(int from, int to, String reason) { this(from, to, reason, true); }

        public EventKind kind() { return EventKind.PG_SWITCHED; }
        public Map<String, String> details() { return map("from", from, "to", to, "reason", reason, "requested", requested ? 1 : 0); }
    }

    /** Queueing with no path changed; {@code queued} requests were waiting at that moment. */
    record QueueModeChanged(boolean queueIfNoPath, String reason, int queued) implements EventPayload {
        public EventKind kind() { return EventKind.QUEUE_MODE_CHANGED; }
        public Map<String, String> details() { return map("queue_if_no_path", queueIfNoPath ? 1 : 0, "reason", reason, "queued", queued); }
    }

    /** A striped leg returned an error; {@code errors} counts them for that leg. */
    record StripeError(int stripe, String device, int errors, Errno errno) implements EventPayload {
        public EventKind kind() { return EventKind.STRIPE_ERROR; }
        public Map<String, String> details() { return map("stripe", stripe, "device", device, "errors", errors, "errno", errno.name()); }
    }

    /**
     * A mirror is in sync on every leg; {@code regions} regions were copied to get there since the
     * table went live or since it was last in sync (0 when the log said every region was in sync).
     */
    record MirrorRecoveryComplete(long regions) implements EventPayload {
        public EventKind kind() { return EventKind.MIRROR_RECOVERY_COMPLETE; }
        public Map<String, String> details() { return map("regions", regions); }
    }

    /**
     * A mirror leg failed: {@code leg} (0-based, table order), its device as written, its new
     * status character ({@code D} write, {@code F} flush, {@code S} copy, {@code R} read) and the
     * error that made it fail ({@code "ENOTCONN: connection lost"}); state and error are "" when not told.
     */
    record MirrorLegFailed(int leg, String device, String state, String error) implements EventPayload {
        public MirrorLegFailed(int leg, String device) { this(leg, device, "", ""); }
        public EventKind kind() { return EventKind.MIRROR_LEG_FAILED; }
        public Map<String, String> details() {
            return optional(optional(map("leg", leg, "device", device), "state", state), "error", error);
        }
    }

    /** A mirror's log device failed: its new status character ({@code D} write or read, {@code F} flush) and the error ("" when not told). */
    record MirrorLogFailed(String device, String state, String error) implements EventPayload {
        public MirrorLogFailed(String device) { this(device, "", ""); }
        public EventKind kind() { return EventKind.MIRROR_LOG_FAILED; }
        public Map<String, String> details() { return optional(optional(map("device", device), "state", state), "error", error); }
    }

    /** A snapshot became invalid. */
    record SnapshotInvalid(String reason) implements EventPayload {
        public EventKind kind() { return EventKind.SNAPSHOT_INVALID; }
        public Map<String, String> details() { return map("reason", reason); }
    }

    /** A snapshot's COW store is full. */
    record SnapshotOverflow(long allocated, long total) implements EventPayload {
        public EventKind kind() { return EventKind.SNAPSHOT_OVERFLOW; }
        public Map<String, String> details() { return map("allocated", allocated, "total", total); }
    }

    /** A snapshot-merge copied its last {@code chunks} back into the origin, {@code elapsedMillis} after it started. */
    record SnapshotMergeComplete(long chunks, long elapsedMillis) implements EventPayload {
        public EventKind kind() { return EventKind.SNAPSHOT_MERGE_COMPLETE; }
        public Map<String, String> details() { return map("chunks", chunks, "elapsed_ms", elapsedMillis); }
    }

    /** A snapshot-merge stopped ({@code reason}) with {@code chunksLeft} chunks not merged; status shows "Merge failed". */
    record SnapshotMergeFailed(String reason, long chunksLeft) implements EventPayload {
        public EventKind kind() { return EventKind.SNAPSHOT_MERGE_FAILED; }
        public Map<String, String> details() { return map("reason", reason, "chunks_left", chunksLeft); }
    }

    /** A target type the device uses went away or could not rebuild its table ({@code reason} then set). */
    record TargetTypeMissing(String type, String reason) implements EventPayload {
        public EventKind kind() { return EventKind.TARGET_TYPE_MISSING; }
        public Map<String, String> details() { return optional(map("type", type), "reason", reason); }
    }

    /**
     * A target or checker bundle was swapped under the device. {@code type} is set for a target
     * type (with {@code replayed} held requests), {@code checker} for path checkers (comma-separated).
     */
    record BundleSwapped(String bundle, String from, String to, long stallMillis, String type, String checker, int replayed)
            implements EventPayload {
        public EventKind kind() { return EventKind.BUNDLE_SWAPPED; }
        public Map<String, String> details() {
            Map<String, String> m = map("bundle", bundle, "from", from, "to", to, "stall_ms", stallMillis);
            optional(m, "type", type);
            optional(m, "checker", checker);
            if (!type.isEmpty()) m.put("replayed", Integer.toString(replayed));
            return m;
        }
    }

    /** An upgrade was rolled back; {@code stallMillis} is -1 when the device did not come back. */
    record BundleRolledBack(String bundle, String from, String to, String reason, long stallMillis) implements EventPayload {
        public EventKind kind() { return EventKind.BUNDLE_ROLLED_BACK; }
        public Map<String, String> details() { return map("bundle", bundle, "from", from, "to", to, "reason", reason, "stall_ms", stallMillis); }
    }

    /**
     * A version of a bundle from the home's bundle store failed to start at boot and was set aside;
     * {@code running} is the version that started instead (a previous stored one, or the image's).
     */
    record BundleSetAside(String bundle, String version, String running, String reason) implements EventPayload {
        public EventKind kind() { return EventKind.BUNDLE_SET_ASIDE; }
        public Map<String, String> details() { return map("bundle", bundle, "version", version, "running", running, "reason", reason); }
    }

    /** A target's own event: its details are the target's. */
    record TargetEvent(Map<String, String> details) implements EventPayload {
        public TargetEvent { details = Map.copyOf(details); }
        public EventKind kind() { return EventKind.TARGET_EVENT; }
    }

    /** Details that do not fit {@code kind}'s record (a missing key, a bad number); {@code problem} says what. */
    record Unparsed(EventKind kind, Map<String, String> details, String problem) implements EventPayload {
        public Unparsed { details = Map.copyOf(details); }
    }

    /** Reads the payload of a {@code kind} event from its details; never throws (see {@link Unparsed}). */
    static EventPayload parse(EventKind kind, Map<String, String> details) {
        return EventPayloadParser.parse(kind, details);
    }

    /** Seconds as the multipath monitor writes them: whole when whole, else decimal. */
    private static String seconds(long millis) {
        return millis % 1000 == 0 ? Long.toString(millis / 1000) : Double.toString(millis / 1000.0);
    }

    private static Map<String, String> map(Object... keyValues) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyValues.length; i += 2) m.put((String) keyValues[i], String.valueOf(keyValues[i + 1]));
        return m;
    }

    private static Map<String, String> optional(Map<String, String> m, String key, String value) {
        if (value != null && !value.isEmpty()) m.put(key, value);
        return m;
    }
}
