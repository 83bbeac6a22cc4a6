package ai.coalora.fleet.security;

import ai.coalora.common.Sha256;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * A device's credential at the gateway: 256 random bits, base64url, behind a fixed prefix (so a leaked token is
 * recognisable in logs and by secret scanners). The registry stores only its sha256: with that much entropy a fast
 * hash is as safe as a slow one, and each request costs one indexed lookup instead of a key-stretching hash.
 */
public final class DeviceToken {
    public static final String PREFIX = "cdt_";
    static final int BYTES = 32;
    private static final Pattern FORMAT = Pattern.compile("cdt_[A-Za-z0-9_-]{43}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private DeviceToken() {}

    /** A new token, shown once to whoever enrols the device. */
    public static String generate() {
        byte[] secret = new byte[BYTES];
        RANDOM.nextBytes(secret);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    }

    /** Whether {@code token} has a token's shape (checked before any lookup). */
    public static boolean isWellFormed(String token) {
        return token != null && FORMAT.matcher(token).matches();
    }

    /** What the registry stores and looks the token up by. */
    public static String digest(String token) {
        return Sha256.of(token);
    }

    /** The {@code Authorization} header a device sends. */
    public static String authorizationHeader(String token) {
        return "Bearer " + token;
    }
}
