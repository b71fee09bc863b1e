package org.ddmapper.spi;

/** A path checker's verdict, as multipath-tools names them. */
public enum PathState {
    /** The checker cannot judge this path (wrong kind of device, bad handle). */
    WILD,
    /** Not checked yet. */
    UNCHECKED,
    /** The path does not work. */
    DOWN,
    /** The path works. */
    UP,
    /** Works, but unreliably. */
    SHAKY,
    /** Standby/passive: reachable but needs activation. */
    GHOST,
    /** A check is in flight. */
    PENDING,
    /** The check did not finish within checker_timeout. */
    TIMEOUT,
    /** The path is gone for good. */
    REMOVED,
    /** Up, but held back before reinstatement (flap damping). */
    DELAYED,
    /** The storage reports the LUN unmapped; treated as down. */
    DISCONNECTED;

    /** multipathd's chk_st word: ready, faulty, shaky, ghost, i/o pending, i/o timeout, delayed, undef. */
    public String checkerWord() {
        return switch (this) {
            case UP -> "ready";
            case DOWN, REMOVED -> "faulty";
            case SHAKY -> "shaky";
            case GHOST -> "ghost";
            case PENDING -> "i/o pending";
            case TIMEOUT -> "i/o timeout";
            case DELAYED -> "delayed";
            case DISCONNECTED -> "disconnected";
            case WILD, UNCHECKED -> "undef";
        };
    }
}
