package org.ddmapper.web.internal;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.spec.InvalidKeySpecException;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * A salted, slow password hash as the users file keeps it: {@code pbkdf2-sha256$ITERATIONS$SALT$HASH}
 * (PBKDF2 with HMAC-SHA-256 from the JDK, salt and hash in unpadded base64). Checking compares in
 * constant time. {@link #parse} refuses anything else with a sentence naming what is wrong.
 */
public record PasswordHash(int iterations, byte[] salt, byte[] hash) {
    public static final String SCHEME = "pbkdf2-sha256";
    /** Iterations of a hash made here (OWASP's 2023 advice for PBKDF2-HMAC-SHA256 is 600 000). */
    public static final int ITERATIONS = 600_000;
    private static final int MAX_ITERATIONS = 10_000_000;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A new hash of {@code password} with a fresh 16-byte salt. */
    public static PasswordHash of(String password) {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return new PasswordHash(ITERATIONS, salt, derive(password, salt, ITERATIONS));
    }

    /** Reads {@code pbkdf2-sha256$N$SALT$HASH}; IllegalArgumentException naming the problem. */
    public static PasswordHash parse(String text) {
        String[] p = text.split("\\$", -1);
        if (p.length != 4 || !p[0].equals(SCHEME))
            throw new IllegalArgumentException("a password hash reads " + SCHEME + "$ITERATIONS$SALT$HASH");
        int n;
        try {
            n = Integer.parseInt(p[1]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("iterations '" + p[1] + "' is not a number");
        }
        if (n < 1 || n > MAX_ITERATIONS) throw new IllegalArgumentException("iterations " + n + " outside 1.." + MAX_ITERATIONS);
        byte[] salt = base64(p[2], "salt");
        byte[] hash = base64(p[3], "hash");
        if (salt.length < 8) throw new IllegalArgumentException("the salt is shorter than 8 bytes");
        if (hash.length != 32) throw new IllegalArgumentException("the hash is not 32 bytes");
        return new PasswordHash(n, salt, hash);
    }

    private static byte[] base64(String s, String what) {
        try {
            return Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the " + what + " is not base64");
        }
    }

    /** Whether {@code password} is the one hashed (constant time over the hash). */
    public boolean matches(String password) {
        return MessageDigest.isEqual(hash, derive(password, salt, iterations));
    }

    @Override
    public String toString() {
        Base64.Encoder b = Base64.getEncoder().withoutPadding();
        return SCHEME + "$" + iterations + "$" + b.encodeToString(salt) + "$" + b.encodeToString(hash);
    }

    private static byte[] derive(String password, byte[] salt, int iterations) {
        try {
            PBEKeySpec spec = new PBEKeySpec(password.toCharArray(), salt, iterations, 256);
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (NoSuchAlgorithmException | InvalidKeySpecException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 is not available", e);
        }
    }
}
