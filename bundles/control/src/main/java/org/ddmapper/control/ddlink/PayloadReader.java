package org.ddmapper.control.ddlink;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.ddmapper.api.DmException;
import org.ddmapper.api.Errno;

/**
 * Reads a request payload field by field (little-endian numbers, NUL-terminated names, UTF-8
 * text). Every error is a DmException(EINVAL) naming the op and the field.
 */
public final class PayloadReader {
    /** Longest device name in bytes (the kernel's DM_NAME_LEN less its NUL). */
    public static final int MAX_NAME_BYTES = 127;

    private final Op op;
    private final byte[] payload;
    private int next;

    public PayloadReader(Op op, byte[] payload) {
        this.op = op;
        this.payload = payload;
    }

    public int remaining() { return payload.length - next; }

    public boolean atEnd() { return next >= payload.length; }

    public long u64(String what) {
        need(8, what);
        long v = 0;
        for (int i = 7; i >= 0; i--) v = v << 8 | (payload[next + i] & 0xFF);
        next += 8;
        return v;
    }

    public int u32(String what) {
        need(4, what);
        int v = Item.le32(payload, next);
        next += 4;
        return v;
    }

    /**
     * A device name: up to a NUL (consumed) or, when none follows, to the end. Empty is returned
     * as "" (the caller decides whether that is allowed).
     */
    public String name(String what) {
        int end = next;
        while (end < payload.length && payload[end] != 0) end++;
        if (end - next > MAX_NAME_BYTES)
            throw invalid(what + " is " + (end - next) + " bytes long; at most " + MAX_NAME_BYTES + " are allowed");
        String name = decode(what, next, end);
        next = end < payload.length ? end + 1 : end;
        return name;
    }

    /** Whether the field before the current position ended with a NUL (something follows). */
    public boolean separatorConsumed() {
        return next > 0 && payload[next - 1] == 0;
    }

    /** UTF-8 text up to a NUL (consumed) or the end; control characters other than tab and newline are refused. */
    public String text(String what) {
        int end = next;
        while (end < payload.length && payload[end] != 0) end++;
        String text = decode(what, next, end);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) && c != '\n' && c != '\t' && c != '\r')
                throw invalid(what + " contains control character 0x" + Integer.toHexString(c));
        }
        next = end < payload.length ? end + 1 : end;
        return text;
    }

    /** Every byte left. */
    public byte[] rest() {
        byte[] out = new byte[payload.length - next];
        System.arraycopy(payload, next, out, 0, out.length);
        next = payload.length;
        return out;
    }

    /** Skips {@code bytes} and returns the rest as UTF-8 text (for replies: text after a fixed header). */
    public String tail(int bytes) {
        need(bytes, "header");
        next += bytes;
        return new String(rest(), StandardCharsets.UTF_8);
    }

    public void expectEnd() {
        if (!atEnd()) throw invalid(remaining() + " unexpected bytes at the end of the payload");
    }

    public DmException invalid(String message) {
        return new DmException(Errno.EINVAL, op + ": " + message);
    }

    private void need(int bytes, String what) {
        if (remaining() < bytes)
            throw invalid("payload too short for the " + bytes + "-byte " + what + " (" + remaining() + " bytes left)");
    }

    private String decode(String what, int from, int to) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer chars = decoder.decode(ByteBuffer.wrap(payload, from, to - from));
            String s = chars.toString();
            for (int i = 0; i < s.length(); i++) {
                if (what.contains("name") && Character.isISOControl(s.charAt(i)))
                    throw invalid(what + " contains control character 0x" + Integer.toHexString(s.charAt(i)));
            }
            return s;
        } catch (CharacterCodingException e) {
            throw invalid(what + " is not valid UTF-8");
        }
    }
}
