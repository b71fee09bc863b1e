package org.ddmapper.nbd.internal;

/**
 * How a server connection closes: why (the sentence every ESHUTDOWN it answers carries), until
 * when requests in flight may finish, how long it lingers once idle, and whether the client sent
 * DISC. A connection closes for a server stop, its device's removal, or a DISC; when a second
 * reason comes, the two combine into the stricter ({@link #and}).
 *
 * <p>What {@link Transmission} does meanwhile: it takes no new requests. Requests in flight get the
 * grace period to finish; every other request — one whose WRITE payload is only partly read (the
 * rest is read and dropped), one waiting for memory, one arriving meanwhile — is answered {@code
 * NBD_ESHUTDOWN} at once (after DISC nothing more is read, as the specification says). At the end
 * of the grace period whatever is still at the device is answered {@code NBD_ESHUTDOWN} too, the
 * replies are flushed and the connection is closed, so no request is left unanswered unless the
 * client stopped reading. A stopping server closes a connection once nothing is in flight and no
 * request came for 100 ms; one whose device was removed lingers answering ESHUTDOWN until it has
 * been idle for {@code goneLingerMillis}.
 *
 * @param reason        the sentence of the ESHUTDOWN replies
 * @param graceEndNanos when requests in flight stop getting time to finish (System.nanoTime based;
 *                      {@link #NO_GRACE_END}: never, after DISC)
 * @param lingerMillis  how long the connection stays open once nothing is in flight
 * @param disconnected  whether the client sent DISC
 */
record Closing(String reason, long graceEndNanos, long lingerMillis, boolean disconnected) {
    static final long NO_GRACE_END = Long.MAX_VALUE;

    /** A closing whose grace period ends {@code graceMillis} from now. */
    static Closing within(String reason, long graceMillis, long lingerMillis) {
        long end = System.nanoTime() + graceMillis * 1_000_000;
        return new Closing(reason, end == NO_GRACE_END ? end - 1 : end, lingerMillis, false);
    }

    /** The closing a DISC starts: requests in flight finish, however long they take. */
    static Closing disconnect(String reason) {
        return new Closing(reason, NO_GRACE_END, 0, true);
    }

    /** The stricter of two: the earlier grace end and linger, DISC from either, the first reason other than DISC's. */
    Closing and(Closing other) {
        String why = disconnected && !other.disconnected ? other.reason : reason;
        long graceEnd = graceEndNanos == NO_GRACE_END ? other.graceEndNanos
                : other.graceEndNanos == NO_GRACE_END || graceEndNanos - other.graceEndNanos < 0 ? graceEndNanos
                : other.graceEndNanos;
        return new Closing(why, graceEnd, Math.min(lingerMillis, other.lingerMillis), disconnected || other.disconnected);
    }

    boolean graceOver(long nowNanos) {
        return graceEndNanos != NO_GRACE_END && nowNanos - graceEndNanos >= 0;
    }

    /** Milliseconds to the grace end, at least 1; -1 when it never ends. */
    long graceLeftMillis(long nowNanos) {
        return graceEndNanos == NO_GRACE_END ? -1 : Math.max(1, (graceEndNanos - nowNanos + 999_999) / 1_000_000);
    }
}
