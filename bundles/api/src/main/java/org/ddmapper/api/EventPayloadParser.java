package org.ddmapper.api;

import java.math.BigDecimal;
import java.util.Map;

/** Reads {@link EventPayload}s from event details (kept out of the exported surface). */
final class EventPayloadParser {
    private EventPayloadParser() {}

    static EventPayload parse(EventKind kind, Map<String, String> details) {
        if (kind == null) return new EventPayload.Unparsed(EventKind.TARGET_EVENT, details == null ? Map.of() : details, "no event kind");
        Map<String, String> d = details == null ? Map.of() : details;
        try {
            return switch (kind) {
                case CREATED -> new EventPayload.Created();
                case TABLE_LOADED -> new EventPayload.TableLoaded(integer(d, "targets"));
                case TABLE_LIVE -> new EventPayload.TableLive(integer(d, "targets"), number(d, "size"));
                case TABLE_CLEARED -> new EventPayload.TableCleared();
                case SUSPENDED -> new EventPayload.Suspended(bool(d, "noflush"), integer(d, "held"));
                case RESUMED -> new EventPayload.Resumed(integer(d, "replayed"));
                case RENAMED -> new EventPayload.Renamed(text(d, "from"), text(d, "to"));
                case REMOVED -> new EventPayload.Removed(bool(d, "force"), integer(d, "failed"), d.getOrDefault("reason", ""));
                case PATH_FAILED -> new EventPayload.PathFailed(text(d, "path"), integer(d, "number"), integer(d, "group"), text(d, "reason"),
                        integer(d, "fail_count"), integer(d, "valid_paths"), optionalInt(d, "retried"));
                case PATH_REINSTATED -> new EventPayload.PathReinstated(text(d, "path"), integer(d, "number"), integer(d, "group"),
                        text(d, "reason"), integer(d, "valid_paths"));
                case PATH_DAMPED -> new EventPayload.PathDamped(text(d, "path"), integer(d, "number"), integer(d, "failures"),
                        millis(d, "window"), millis(d, "hold"), text(d, "reason"));
                case PG_BYPASSED -> new EventPayload.PgBypassed(integer(d, "group"), bool(d, "bypassed"), text(d, "reason"));
                case PG_SWITCHED -> new EventPayload.PgSwitched(integer(d, "from"), integer(d, "to"), text(d, "reason"),
                        !d.containsKey("requested") || bool(d, "requested"));
                case QUEUE_MODE_CHANGED -> new EventPayload.QueueModeChanged(bool(d, "queue_if_no_path"), text(d, "reason"), optionalInt(d, "queued"));
                case STRIPE_ERROR -> new EventPayload.StripeError(integer(d, "stripe"), text(d, "device"), integer(d, "errors"), errno(d, "errno"));
                case MIRROR_RECOVERY_COMPLETE -> new EventPayload.MirrorRecoveryComplete(number(d, "regions"));
                case MIRROR_LEG_FAILED -> new EventPayload.MirrorLegFailed(integer(d, "leg"), text(d, "device"),
                        d.getOrDefault("state", ""), d.getOrDefault("error", ""));
                case MIRROR_LOG_FAILED -> new EventPayload.MirrorLogFailed(text(d, "device"), d.getOrDefault("state", ""),
                        d.getOrDefault("error", ""));
                case SNAPSHOT_INVALID -> new EventPayload.SnapshotInvalid(text(d, "reason"));
                case SNAPSHOT_OVERFLOW -> new EventPayload.SnapshotOverflow(number(d, "allocated"), number(d, "total"));
                case SNAPSHOT_MERGE_COMPLETE -> new EventPayload.SnapshotMergeComplete(number(d, "chunks"), number(d, "elapsed_ms"));
                case SNAPSHOT_MERGE_FAILED -> new EventPayload.SnapshotMergeFailed(text(d, "reason"), number(d, "chunks_left"));
                case TARGET_TYPE_MISSING -> new EventPayload.TargetTypeMissing(text(d, "type"), d.getOrDefault("reason", ""));
                case BUNDLE_SWAPPED -> new EventPayload.BundleSwapped(text(d, "bundle"), text(d, "from"), text(d, "to"), number(d, "stall_ms"),
                        d.getOrDefault("type", ""), d.getOrDefault("checker", ""), optionalInt(d, "replayed"));
                case BUNDLE_ROLLED_BACK -> new EventPayload.BundleRolledBack(text(d, "bundle"), text(d, "from"), text(d, "to"), text(d, "reason"),
                        number(d, "stall_ms"));
                case BUNDLE_SET_ASIDE -> new EventPayload.BundleSetAside(text(d, "bundle"), text(d, "version"), text(d, "running"),
                        text(d, "reason"));
                case TARGET_EVENT -> new EventPayload.TargetEvent(d);
            };
        } catch (Malformed e) {
            return new EventPayload.Unparsed(kind, d, e.getMessage());
        } catch (RuntimeException e) {
            return new EventPayload.Unparsed(kind, Map.of(), "details could not be read: " + e);
        }
    }

    /** A detail that does not fit its record. */
    private static final class Malformed extends RuntimeException {
        private Malformed(String message) { super(message, null, false, false); }
    }

    private static String text(Map<String, String> d, String key) {
        String v = d.get(key);
        if (v == null) throw new Malformed("missing '" + key + "'");
        return v;
    }

    private static long number(Map<String, String> d, String key) {
        String v = text(d, key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new Malformed("'" + key + "' is not a number: '" + v + "'");
        }
    }

    private static int integer(Map<String, String> d, String key) {
        long v = number(d, key);
        if (v != (int) v) throw new Malformed("'" + key + "' is out of range: " + v);
        return (int) v;
    }

    private static int optionalInt(Map<String, String> d, String key) {
        return d.containsKey(key) ? integer(d, key) : 0;
    }

    private static boolean bool(Map<String, String> d, String key) {
        String v = text(d, key);
        return switch (v) {
            case "1", "true" -> true;
            case "0", "false" -> false;
            default -> throw new Malformed("'" + key + "' is not a flag: '" + v + "'");
        };
    }

    private static long millis(Map<String, String> d, String key) {
        String v = text(d, key);
        try {
            return new BigDecimal(v).movePointRight(3).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new Malformed("'" + key + "' is not a number of seconds: '" + v + "'");
        }
    }

    private static Errno errno(Map<String, String> d, String key) {
        String v = text(d, key);
        try {
            return Errno.valueOf(v);
        } catch (IllegalArgumentException e) {
            throw new Malformed("'" + key + "' is not an errno name: '" + v + "'");
        }
    }
}
