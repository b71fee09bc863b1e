package org.ddmapper.control.ddlink;

/**
 * The ddlink ops: the number in an item's {@code op} field, whether the op only reads (and so may
 * be granted to a read-only peer), and which bits its request's {@code target} field may carry.
 * Layouts and errors of each are in bundles/control/README.md.
 */
public enum Op {
    /** Protocol version, max item size, max fds, and the software's version text. */
    VERSION(1, true, 0),
    /** {@code dmsetup ls}. */
    LIST(2, true, 0),
    /** Create a device, optionally with a table (loaded and resumed). */
    CREATE(3, false, 0),
    /** Load a table into the inactive slot. */
    LOAD(4, false, 0),
    /** Discard the inactive slot. */
    CLEAR(5, false, 0),
    /** Suspend; flag {@link Ddlink#FLAG_NOFLUSH}. */
    SUSPEND(6, false, Ddlink.FLAG_NOFLUSH),
    /** Resume (swapping a loaded table in). */
    RESUME(7, false, 0),
    /** Remove; flag {@link Ddlink#FLAG_FORCE}. */
    REMOVE(8, false, Ddlink.FLAG_FORCE),
    /** Rename. */
    RENAME(9, false, 0),
    /** {@code dmsetup info} text. */
    INFO(10, true, 0),
    /** {@code dmsetup status} text. */
    STATUS(11, true, 0),
    /** {@code dmsetup table} text; flag {@link Ddlink#FLAG_INACTIVE}. */
    TABLE(12, true, Ddlink.FLAG_INACTIVE),
    /** {@code dmsetup deps} text. */
    DEPS(13, true, 0),
    /** Wait until the event number passes a value. */
    WAIT(14, true, 0),
    /** A device's recent events as text lines. */
    EVENTS(15, true, 0),
    /** {@code dmsetup targets} text. */
    TARGETS(16, true, 0),
    /** A message to one target, with a text and a binary part and passed fds; {@code target} is the index. */
    MESSAGE(17, false, -1),
    /** A new socket bound to one device instance, passed back by SCM_RIGHTS. */
    LINK(18, true, 0),
    /** Live upgrade of a target or checker bundle from a jar: {@code SYMBOLIC-NAME \0 JAR-PATH}; replies the report line. */
    UPGRADE(19, false, 0),
    /** What the home's bundle store holds ({@code ddsetup upgrade --list}); empty payload. */
    UPGRADE_LIST(21, true, 0),
    /** Undo the store's newest upgrade of a bundle, live: {@code SYMBOLIC-NAME}; replies the report line. */
    UPGRADE_REVERT(22, false, 0),
    /** Every multipath map's topology ({@code multipath -ll}) or, with {@link Ddlink#FLAG_PATHS}, paths; or one map's. */
    MULTIPATH(20, true, Ddlink.FLAG_PATHS),
    /**
     * A whole dmsetup command line, run in the appliance ({@code org.ddmapper.api.cli.Cli}):
     * {@code ARG \0 ARG \0 ...}; flag {@link Ddlink#FLAG_STDIN_TERMINAL}. Replies {@code i32 exit |
     * u32 stdout_bytes | stdout | stderr}, or EOPNOTSUPP when the command needs its caller
     * (a table file or stdin, passed descriptors, a wait, events, upgrade). Read-only peers may send
     * it; the verbs that change state are refused to them inside.
     */
    CLI(23, true, Ddlink.FLAG_STDIN_TERMINAL),
    /** Every mirror's legs, sync and log ({@code ddsetup mirror}), or one device's. */
    MIRROR(24, true, 0),
    /** Every snapshot as {@code lvs} would show it (origin, COW, store, Data%, state), or those of one device. */
    SNAPSHOTS(25, true, 0),
    /** Server to client on a link: one device event. */
    EVENT(64, true, 0),
    /** Server to client on a link: events were dropped because the link was not read. */
    EVENTS_LOST(65, true, 0);

    private final int code;
    private final boolean readOnly;
    private final int flagMask;

    Op(int code, boolean readOnly, int flagMask) {
        this.code = code;
        this.readOnly = readOnly;
        this.flagMask = flagMask;
    }

    public int code() { return code; }

    /** Whether the op changes nothing (grantable to a read-only peer). */
    public boolean readOnly() { return readOnly; }

    /** The bits the request's target field may carry (-1: the field is not flags but a target index). */
    public int flagMask() { return flagMask; }

    /** Whether a client may send this op (EVENT and EVENTS_LOST only travel from the server). */
    public boolean isRequest() { return code < EVENT.code; }

    /** The op with this number, or null. */
    public static Op of(int code) {
        for (Op op : values()) if (op.code == code) return op;
        return null;
    }
}
