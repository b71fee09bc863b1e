package org.ddmapper.control.internal;

/** What a peer may do on the control socket. */
enum Access {
    /** Every op. */
    FULL,
    /** Only ops that change nothing ({@link org.ddmapper.control.ddlink.Op#readOnly()}). */
    READ_ONLY,
    /** Nothing: the first request is answered EACCES and the connection closed. */
    NONE
}
