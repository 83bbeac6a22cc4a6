package ai.coalora.fleet.security;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Stored form of a password: PBKDF2 with HMAC-SHA256, a random 16-byte salt and a work factor, written as
 * {@code pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>}. Passwords are never stored in plain text;
 * comparison is constant-time.
 */
public final class PasswordHash {
    public static final String SCHEME = "pbkdf2-sha256";
    /**
     * Work factor: OWASP's 600,000 for PBKDF2-HMAC-SHA256, about 0.5 s per check on one core here; successful checks are
     * remembered by the services, and hashes written with a smaller count still verify (the count is in the hash).
     */
    public static final int DEFAULT_ITERATIONS = 600_000;

    private static final int SALT_BYTES = 16, HASH_BITS = 256;
    private static final SecureRandom RANDOM = new SecureRandom();

    private PasswordHash() {}

    public static String hash(char[] password) {
        return hash(password, DEFAULT_ITERATIONS);
    }

    public static String hash(char[] password, int iterations) {
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        return SCHEME + "$" + iterations + "$" + b64.encodeToString(salt) + "$"
                + b64.encodeToString(derive(password, salt, iterations));
    }

    /** Whether {@code password} matches {@code stored}; a malformed stored hash is an IllegalArgumentException. */
    public static boolean verify(char[] password, String stored) {
        Parsed p = parse(stored);
        return MessageDigest.isEqual(p.hash(), derive(password, p.salt(), p.iterations()));
    }

    /** Checks the stored form without computing anything: an IllegalArgumentException naming what is wrong. */
    public static void checkFormat(String stored) {
        parse(stored);
    }

    private record Parsed(int iterations, byte[] salt, byte[] hash) {}

    private static Parsed parse(String stored) {
        String[] parts = stored == null ? new String[0] : stored.split("\\$");
        if (parts.length != 4 || !parts[0].equals(SCHEME)) {
            throw new IllegalArgumentException("not a " + SCHEME + "$<iterations>$<salt>$<hash> password hash");
        }
        Parsed p;
        try {
            p = new Parsed(
                    Integer.parseInt(parts[1]),
                    Base64.getDecoder().decode(parts[2]),
                    Base64.getDecoder().decode(parts[3]));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malformed " + SCHEME + " hash: " + e.getMessage(), e);
        }
        if (p.iterations() < 10_000 || p.salt().length < 8 || p.hash().length != HASH_BITS / 8) {
            throw new IllegalArgumentException(SCHEME + " hash too weak or malformed (iterations " + p.iterations()
                    + ", salt " + p.salt().length + " bytes)");
        }
        return p;
    }

    private static byte[] derive(char[] password, byte[] salt, int iterations) {
        PBEKeySpec spec = new PBEKeySpec(password, salt, iterations, HASH_BITS);
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                    .generateSecret(spec)
                    .getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 unavailable", e);
        } finally {
            spec.clearPassword();
        }
    }
}
