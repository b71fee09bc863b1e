package org.ddmapper.web.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the web users come from, what the first boot generates, and what a users file may hold. */
class CredentialsTest {
    @TempDir Path dir;

    @Test
    void theFirstBootGeneratesAPrivateHashAndThePasswordOnceThenReadsIt() throws Exception {
        Path home = dir.resolve("home");
        Credentials.Loaded first = Credentials.load(null, home);
        String password = first.generatedPassword();
        assertNotNull(password);
        assertEquals(20, password.length());
        assertEquals(home.resolve("web/users"), first.credentials().source());
        for (String f : new String[] {"web/users", "web/initial-password"})
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve(f))), f);
        assertFalse(Files.readString(home.resolve("web/users")).contains(password));
        assertTrue(first.credentials().check("admin", password));
        assertFalse(first.credentials().check("admin", password + "x"));
        assertFalse(first.credentials().check("Admin", password));
        Credentials.Loaded second = Credentials.load(null, home);
        assertNull(second.generatedPassword(), "generated once");
        assertTrue(second.credentials().check("admin", password));
    }

    @Test
    void anOperatorsFileInEtcWinsAndNothingIsGenerated() throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("web-users"), "# ours\n\nops:" + new PasswordHash(1000, new byte[16], hashOf("s3cret", 1000)) + "\n");
        Credentials.Loaded l = Credentials.load(etc, dir.resolve("home"));
        assertNull(l.generatedPassword());
        assertFalse(Files.exists(dir.resolve("home/web")));
        assertTrue(l.credentials().check("ops", "s3cret"));
        assertFalse(l.credentials().check("admin", "s3cret"));
    }

    @Test
    void aUsersFileThatDoesNotReadIsRefusedNamingTheLine() {
        String good = "a:" + PasswordHash.of("x");
        assertEquals("line 2: expected USER:HASH", refusal(good + "\nnocolon"));
        assertEquals("line 1: a password hash reads pbkdf2-sha256$ITERATIONS$SALT$HASH", refusal("a:plain"));
        assertEquals("line 2: user 'a' given twice", refusal(good + "\n" + good));
        assertEquals("line 1: invalid user name", refusal("a b:" + PasswordHash.of("x")));
        assertEquals("line 1: iterations 0 outside 1..10000000", refusal("a:pbkdf2-sha256$0$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assertEquals("line 1: the hash is not 32 bytes", refusal("a:pbkdf2-sha256$5$AAAAAAAAAAAAAAAAAAAAAA$AAAA"));
        assertEquals("no user", refusal("# nobody\n"));
    }

    private static String refusal(String text) {
        return assertThrows(IllegalArgumentException.class, () -> Credentials.parse(text)).getMessage();
    }

    private static byte[] hashOf(String password, int iterations) throws Exception {
        var spec = new javax.crypto.spec.PBEKeySpec(password.toCharArray(), new byte[16], iterations, 256);
        return javax.crypto.SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
    }
}
