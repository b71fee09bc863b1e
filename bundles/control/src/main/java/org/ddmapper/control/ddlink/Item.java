package org.ddmapper.control.ddlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One ddlink item. In a request the third field is {@code target} (a target index, or flags);
 * in a reply or event it is {@code status} (0 or -errno). Encoding is the same.
 */
public record Item(int op, int tag, int third, byte[] payload) {

    public Item {
        if (payload == null) payload = new byte[0];
    }

    public static Item request(Op op, int tag, int target, byte[] payload) {
        return new Item(op.code(), tag, target, payload);
    }

    public static Item reply(int op, int tag, int status, byte[] payload) {
        return new Item(op, tag, status, payload);
    }

    /** The request's target field. */
    public int target() { return third; }

    /** The reply's status: 0 or -errno. */
    public int status() { return third; }

    public boolean ok() { return third == 0; }

    /** The payload as UTF-8 text (an error reply's sentence, a text verb's output). */
    public String text() { return new String(payload, StandardCharsets.UTF_8); }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(Ddlink.HEADER_BYTES + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(op).putInt(tag).putInt(third).putInt(payload.length).put(payload);
        return b.array();
    }

    /** Reads the header's op field of a raw item (0 when shorter than 4 bytes). */
    public static int peekOp(byte[] raw) { return raw.length >= 4 ? le32(raw, 0) : 0; }

    /** Reads the header's tag field of a raw item (0 when shorter than 8 bytes). */
    public static int peekTag(byte[] raw) { return raw.length >= 8 ? le32(raw, 4) : 0; }

    /**
     * Decodes a whole item, checking its framing: at least a header, and a length field equal to
     * the bytes that follow. The error names what was wrong.
     */
    public static Item decode(byte[] raw) throws FramingException {
        if (raw.length < Ddlink.HEADER_BYTES)
            throw new FramingException("item of " + raw.length + " bytes is shorter than the " + Ddlink.HEADER_BYTES + "-byte header");
        long length = le32(raw, 12) & 0xFFFFFFFFL;
        int carried = raw.length - Ddlink.HEADER_BYTES;
        if (length != carried)
            throw new FramingException("length field says " + length + " payload bytes but the item carries " + carried);
        byte[] payload = new byte[carried];
        System.arraycopy(raw, Ddlink.HEADER_BYTES, payload, 0, carried);
        return new Item(le32(raw, 0), le32(raw, 4), le32(raw, 8), payload);
    }

    static int le32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    /** An item whose framing is broken (too short, length field lying). */
    public static final class FramingException extends Exception {
        private static final long serialVersionUID = 1L;

        public FramingException(String message) { super(message); }
    }
}
