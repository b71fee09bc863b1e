package org.ddmapper.nbd.internal;

import java.nio.ByteBuffer;

/**
 * One transmission request header as it came off the wire: 28 bytes, big-endian — the request
 * magic, command flags, command type, the client's cookie, offset and length.
 *
 * @param flags  the command flags (16 bits)
 * @param type   the command type (16 bits; unknown types are the check's business)
 * @param cookie the client's handle for the request, echoed in its reply
 * @param offset the byte offset, unsigned
 * @param length the byte length, unsigned 32 bits (a TRIM may ask for 4 GiB - 1)
 */
public record RequestHeader(int flags, int type, long cookie, long offset, long length) {
    /** Bytes of a header on the wire. */
    public static final int BYTES = 28;

    /**
     * Reads the header at the buffer's position and moves past it. A bad magic means the stream is
     * no longer framed: a {@link ProtocolException}, and the connection is dropped.
     */
    public static RequestHeader read(ByteBuffer in) throws ProtocolException {
        int at = in.position();
        int magic = in.getInt(at);
        if (magic != Nbd.REQUEST_MAGIC) throw new ProtocolException("bad request magic 0x" + Integer.toHexString(magic));
        RequestHeader h = new RequestHeader(Short.toUnsignedInt(in.getShort(at + 4)), Short.toUnsignedInt(in.getShort(at + 6)),
                in.getLong(at + 8), in.getLong(at + 16), Integer.toUnsignedLong(in.getInt(at + 24)));
        in.position(at + BYTES);
        return h;
    }

    /** Where the request's bytes end (may wrap past 2^64: {@link RequestCheck} refuses that). */
    public long end() {
        return offset + length;
    }
}
