package org.ddmapper.api;

/** The operation of a block I/O request. */
public enum BioOp {
    /** Fill the request's buffer from the device. */
    READ,
    /** Store the request's buffer on the device. */
    WRITE,
    /** Make every write completed so far durable. Carries no range. */
    FLUSH,
    /** The range's contents are no longer needed (NBD TRIM); reading it back afterwards is unspecified. */
    DISCARD,
    /** The range reads back as zeros afterwards ({@link Bio#NO_HOLE} asks to keep it allocated). */
    WRITE_ZEROES;

    /** Whether this operation carries a data buffer. */
    public boolean hasData() { return this == READ || this == WRITE; }

    /** Whether this operation changes the device's contents. */
    public boolean isWrite() { return this == WRITE || this == DISCARD || this == WRITE_ZEROES; }
}
