package org.ddmapper.nbd.internal;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The protocol's strings: UTF-8, no NUL, at most 4096 bytes. */
public final class WireStrings {
    private WireStrings() {
    }

    /** Decodes a string the client sent, or throws naming what is wrong with it. */
    public static String decode(byte[] bytes, int offset, int length, String what) throws InvalidString {
        if (length > Nbd.MAX_STRING_BYTES)
            throw new InvalidString(what + " is " + length + " bytes long, more than the " + Nbd.MAX_STRING_BYTES + " allowed");
        for (int i = offset; i < offset + length; i++) {
            if (bytes[i] == 0) throw new InvalidString(what + " contains a NUL byte at offset " + (i - offset));
        }
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new InvalidString(what + " is not valid UTF-8");
        }
    }

    /** A message as UTF-8 of at most {@code maxBytes}, cut at a character boundary. */
    public static byte[] encode(String s, int maxBytes) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= maxBytes) return b;
        int end = maxBytes;
        while (end > 0 && (b[end] & 0xC0) == 0x80) end--;
        return java.util.Arrays.copyOf(b, end);
    }

    /** A name shortened for quoting in a message. */
    public static String quote(String name) {
        String s = name.length() <= 64 ? name : name.substring(0, 61) + "...";
        return "'" + s + "'";
    }

    /** A string from the client that breaks the rules. */
    public static final class InvalidString extends Exception {
        private static final long serialVersionUID = 1L;

        public InvalidString(String message) {
            super(message, null, false, false);
        }
    }
}
