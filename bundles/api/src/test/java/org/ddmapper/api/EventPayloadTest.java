package org.ddmapper.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ddmapper.api.EventPayload.*;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EventPayloadTest {

    /** Every kind with the details its raiser really writes (copied from the raise sites) and the record they read as. */
    static final List<Object[]> CASES = List.of(
            row(EventKind.CREATED, Map.of(), new Created()),
            row(EventKind.TABLE_LOADED, Map.of("targets", "3"), new TableLoaded(3)),
            row(EventKind.TABLE_LIVE, Map.of("targets", "2", "size", "8589934592"), new TableLive(2, 8589934592L)),
            row(EventKind.TABLE_CLEARED, Map.of(), new TableCleared()),
            row(EventKind.SUSPENDED, Map.of("noflush", "true", "held", "4"), new Suspended(true, 4)),
            row(EventKind.RESUMED, Map.of("replayed", "4"), new Resumed(4)),
            row(EventKind.RENAMED, Map.of("from", "old", "to", "new"), new Renamed("old", "new")),
            row(EventKind.REMOVED, Map.of("force", "true", "failed", "2"), new Removed(true, 2, "")),
            row(EventKind.REMOVED, Map.of("force", "false", "failed", "0", "reason", "line 1: no such device"),
                    new Removed(false, 0, "line 1: no such device")),
            row(EventKind.PATH_FAILED, Map.of("path", "nbd://127.0.0.1:1/a", "number", "1", "group", "2", "reason", "read failed: EIO",
                    "fail_count", "3", "valid_paths", "1", "retried", "2"), new PathFailed("nbd://127.0.0.1:1/a", 1, 2, "read failed: EIO", 3, 1, 2)),
            row(EventKind.PATH_REINSTATED, Map.of("path", "dm:leg0", "number", "1", "group", "1", "reason", "checker directio: ready",
                    "valid_paths", "2"), new PathReinstated("dm:leg0", 1, 1, "checker directio: ready", 2)),
            row(EventKind.PATH_DAMPED, Map.of("path", "dm:leg1", "number", "2", "failures", "4", "window", "2.5", "hold", "10",
                    "reason", "failed 4 times"), new PathDamped("dm:leg1", 2, 4, 2500, 10_000, "failed 4 times")),
            row(EventKind.PG_BYPASSED, Map.of("group", "2", "bypassed", "1", "reason", "disable_group"), new PgBypassed(2, true, "disable_group")),
            row(EventKind.PG_SWITCHED, Map.of("from", "0", "to", "1", "reason", "switch_group", "requested", "1"), new PgSwitched(0, 1, "switch_group", true)),
            row(EventKind.PG_SWITCHED, Map.of("from", "1", "to", "2", "reason", "group 1 has no usable path", "requested", "0"),
                    new PgSwitched(1, 2, "group 1 has no usable path", false)),
            row(EventKind.QUEUE_MODE_CHANGED, Map.of("queue_if_no_path", "0", "reason", "no_path_retry 5", "queued", "7"),
                    new QueueModeChanged(false, "no_path_retry 5", 7)),
            row(EventKind.STRIPE_ERROR, Map.of("stripe", "1", "device", "dm:bad", "errors", "1", "errno", "EIO"),
                    new StripeError(1, "dm:bad", 1, Errno.EIO)),
            row(EventKind.MIRROR_RECOVERY_COMPLETE, Map.of("regions", "1024"), new MirrorRecoveryComplete(1024)),
            row(EventKind.MIRROR_LEG_FAILED, Map.of("leg", "1", "device", "/dev/sdb"), new MirrorLegFailed(1, "/dev/sdb")),
            row(EventKind.MIRROR_LEG_FAILED, Map.of("leg", "0", "device", "nbd://h:1/x", "state", "D", "error", "ENOTCONN: lost"),
                    new MirrorLegFailed(0, "nbd://h:1/x", "D", "ENOTCONN: lost")),
            row(EventKind.MIRROR_LOG_FAILED, Map.of("device", "/dev/sdc"), new MirrorLogFailed("/dev/sdc")),
            row(EventKind.MIRROR_LOG_FAILED, Map.of("device", "/dev/sdc", "state", "F", "error", "EIO: flush"),
                    new MirrorLogFailed("/dev/sdc", "F", "EIO: flush")),
            row(EventKind.SNAPSHOT_INVALID, Map.of("reason", "COW full"), new SnapshotInvalid("COW full")),
            row(EventKind.SNAPSHOT_OVERFLOW, Map.of("allocated", "100", "total", "100"), new SnapshotOverflow(100, 100)),
            row(EventKind.SNAPSHOT_MERGE_COMPLETE, Map.of("chunks", "512", "elapsed_ms", "340"), new SnapshotMergeComplete(512, 340)),
            row(EventKind.SNAPSHOT_MERGE_FAILED, Map.of("reason", "io_error", "chunks_left", "17"), new SnapshotMergeFailed("io_error", 17)),
            row(EventKind.TARGET_TYPE_MISSING, Map.of("type", "linear"), new TargetTypeMissing("linear", "")),
            row(EventKind.TARGET_TYPE_MISSING, Map.of("type", "tstate", "reason", "cannot rebuild its table"),
                    new TargetTypeMissing("tstate", "cannot rebuild its table")),
            row(EventKind.BUNDLE_SWAPPED, Map.of("type", "linear", "bundle", "org.ddmapper.target.linear", "from", "0.1.0.SNAPSHOT",
                    "to", "0.1.1.SNAPSHOT", "stall_ms", "12", "replayed", "3"),
                    new BundleSwapped("org.ddmapper.target.linear", "0.1.0.SNAPSHOT", "0.1.1.SNAPSHOT", 12, "linear", "", 3)),
            row(EventKind.BUNDLE_SWAPPED, Map.of("bundle", "org.ddmapper.checker.directio", "from", "0.1.1", "to", "0.1.0",
                    "stall_ms", "0", "checker", "directio"),
                    new BundleSwapped("org.ddmapper.checker.directio", "0.1.1", "0.1.0", 0, "", "directio", 0)),
            row(EventKind.BUNDLE_ROLLED_BACK, Map.of("bundle", "b", "from", "1", "to", "2", "reason", "did not start", "stall_ms", "-1"),
                    new BundleRolledBack("b", "1", "2", "did not start", -1)),
            row(EventKind.BUNDLE_SET_ASIDE, Map.of("bundle", "org.ddmapper.target.linear", "version", "0.1.2", "running", "0.1.1",
                    "reason", "it does not start: missing requirement"),
                    new BundleSetAside("org.ddmapper.target.linear", "0.1.2", "0.1.1", "it does not start: missing requirement")),
            row(EventKind.TARGET_EVENT, Map.of("said", "hello"), new TargetEvent(Map.of("said", "hello"))));

    private static Object[] row(EventKind kind, Map<String, String> details, EventPayload expected) {
        return new Object[] {kind, details, expected};
    }

    private static DeviceEvent event(EventKind kind, Map<String, String> details) {
        return new DeviceEvent("vol", 7, 1, kind, -1, details, 0);
    }

    @Test
    void everyKindReadsAsItsRecordAndWritesBackTheSameDetails() {
        Set<EventKind> seen = EnumSet.noneOf(EventKind.class);
        for (Object[] c : CASES) {
            EventKind kind = (EventKind) c[0];
            @SuppressWarnings("unchecked") Map<String, String> details = (Map<String, String>) c[1];
            EventPayload expected = (EventPayload) c[2];
            EventPayload got = event(kind, details).payload();
            assertEquals(expected, got, kind + " " + details);
            assertEquals(kind, got.kind());
            assertEquals(details, got.details(), "round trip of " + kind);
            seen.add(kind);
        }
        assertEquals(EnumSet.allOf(EventKind.class), seen, "every kind has a record and a case");
    }

    @Test
    void theTextLineIsUnchanged() {
        DeviceEvent e = new DeviceEvent("vol", 7, 3, EventKind.PATH_FAILED, 0,
                new PathFailed("dm:a", 1, 1, "read failed", 1, 0, 0).details(), 0);
        assertEquals("vol 3 path_failed target=0 fail_count=1 group=1 number=1 path=dm:a reason=read\\ failed retried=0 valid_paths=0",
                e.toLine());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "TABLE_LOADED  | size=3                     | missing 'targets'",
            "TABLE_LOADED  | targets=three              | 'targets' is not a number: 'three'",
            "TABLE_LOADED  | targets=99999999999        | 'targets' is out of range: 99999999999",
            "SUSPENDED     | noflush=maybe,held=0       | 'noflush' is not a flag: 'maybe'",
            "PATH_DAMPED   | path=p,number=1,failures=2,window=1.0005,hold=1,reason=r | 'window' is not a number of seconds: '1.0005'",
            "STRIPE_ERROR  | stripe=0,device=d,errors=1,errno=EWHAT | 'errno' is not an errno name: 'EWHAT'",
            "RENAMED       | from=a                     | missing 'to'",
    })
    void detailsThatDoNotFitGiveUnparsedNamingTheProblem(EventKind kind, String pairs, String problem) {
        Map<String, String> details = new LinkedHashMap<>();
        for (String kv : pairs.split(",")) {
            String[] p = kv.split("=", 2);
            details.put(p[0], p[1]);
        }
        EventPayload got = event(kind, details).payload();
        assertEquals(new Unparsed(kind, details, problem), got);
        assertEquals(kind, got.kind());
        assertEquals(details, got.details(), "the details stay readable");
    }

    @Test
    void aPathFailedWithoutRetriedReadsAsZero() {
        assertEquals(new PathFailed("dm:a", 1, 1, "r", 1, 0, 0), event(EventKind.PATH_FAILED,
                Map.of("path", "dm:a", "number", "1", "group", "1", "reason", "r", "fail_count", "1", "valid_paths", "0")).payload());
    }

    @Test
    void extraKeysAreToleratedAndNullsNeverThrow() {
        assertEquals(new Resumed(1), event(EventKind.RESUMED, Map.of("replayed", "1", "new_key", "x")).payload());
        assertInstanceOf(Unparsed.class, EventPayload.parse(null, null));
        assertInstanceOf(Unparsed.class, EventPayload.parse(EventKind.RESUMED, null));
        assertEquals(new Created(), EventPayload.parse(EventKind.CREATED, null));
    }
}
