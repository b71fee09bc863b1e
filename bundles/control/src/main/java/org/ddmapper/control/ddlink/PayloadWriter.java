package org.ddmapper.control.ddlink;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds a payload: little-endian numbers, names and text (NUL-separated where something follows). */
public final class PayloadWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public PayloadWriter u64(long v) {
        for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    public PayloadWriter u32(int v) {
        for (int i = 0; i < 4; i++) out.write(v >>> (8 * i));
        return this;
    }

    /** UTF-8 text without terminator. */
    public PayloadWriter text(String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** A NUL byte (the separator between two fields). */
    public PayloadWriter nul() {
        out.write(0);
        return this;
    }

    public PayloadWriter bytes(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    public byte[] toBytes() { return out.toByteArray(); }

    /** A payload of one UTF-8 text. */
    public static byte[] of(String text) { return text.getBytes(StandardCharsets.UTF_8); }
}
