package org.ddmapper.web.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Fuzzes what the web administration reads from outside: the {@code Authorization} header of any
 * HTTP client ({@link BasicAuth}) — a login or null, never an exception — and the users file
 * ({@link Credentials#parse}) — users with hashes that print back the same, or an
 * IllegalArgumentException with a sentence.
 */
class WebInputFuzzTest {

    @FuzzTest
    void authorizationHeader(byte[] input) {
        String header = new String(input, StandardCharsets.UTF_8);
        BasicAuth.Login login = BasicAuth.parse(header);
        if (login == null) return;
        assertFalse(login.user().isEmpty());
        assertFalse(login.user().contains(":"));
        assertTrue((login.user() + login.password()).chars().noneMatch(Character::isISOControl));
    }

    @FuzzTest
    void usersFile(byte[] input) {
        Map<String, PasswordHash> users;
        try {
            users = Credentials.parse(new String(input, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            assertFalse(e.getMessage() == null || e.getMessage().isBlank());
            return;
        }
        assertFalse(users.isEmpty());
        for (PasswordHash h : users.values()) assertEquals(h.toString(), PasswordHash.parse(h.toString()).toString());
    }
}
