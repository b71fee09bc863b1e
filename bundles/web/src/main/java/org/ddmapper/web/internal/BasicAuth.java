package org.ddmapper.web.internal;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * HTTP Basic authentication (RFC 7617): reads an {@code Authorization} header into a user and a
 * password. Anything that is not {@code Basic BASE64(user:password)} in UTF-8 — another scheme,
 * bad base64, no colon, an empty user, control characters, a header over 4 KiB — is null: the
 * request is then answered 401, as without a header.
 */
public final class BasicAuth {
    private static final int MAX_HEADER = 4096;

    private BasicAuth() {}

    /** A user and password from a header. */
    public record Login(String user, String password) {}

    /** The login a header carries, or null. */
    public static Login parse(String header) {
        if (header == null || header.length() > MAX_HEADER) return null;
        String h = header.strip();
        if (h.length() < 6 || !h.regionMatches(true, 0, "Basic ", 0, 6)) return null;
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(h.substring(6).strip());
        } catch (IllegalArgumentException e) {
            return null;
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        int colon = text.indexOf(':');
        if (colon <= 0 || text.chars().anyMatch(Character::isISOControl)) return null;
        return new Login(text.substring(0, colon), text.substring(colon + 1));
    }
}
