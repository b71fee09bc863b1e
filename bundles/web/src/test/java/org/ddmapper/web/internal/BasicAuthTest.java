package org.ddmapper.web.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** Authorization headers: what reads as a login and what is no login at all. */
class BasicAuthTest {
    private static String b64(String s) { return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)); }

    @Test
    void readsBasicCredentialsWithAColonInThePassword() {
        assertEquals(new BasicAuth.Login("admin", "a:b ü"), BasicAuth.parse("Basic " + b64("admin:a:b ü")));
        assertEquals(new BasicAuth.Login("admin", ""), BasicAuth.parse("basic  " + b64("admin:")));
    }

    @Test
    void anythingElseIsNoLogin() {
        assertNull(BasicAuth.parse(null));
        assertNull(BasicAuth.parse("Bearer " + b64("admin:x")));
        assertNull(BasicAuth.parse("Basic !!!"));
        assertNull(BasicAuth.parse("Basic " + b64("nocolon")));
        assertNull(BasicAuth.parse("Basic " + b64(":x")), "an empty user");
        assertNull(BasicAuth.parse("Basic " + b64("admin:x\ny")), "control characters");
        assertNull(BasicAuth.parse("Basic " + Base64.getEncoder().encodeToString(new byte[] {'a', ':', (byte) 0xff})), "not UTF-8");
        assertNull(BasicAuth.parse("Basic " + "A".repeat(5000)), "over 4 KiB");
    }
}
