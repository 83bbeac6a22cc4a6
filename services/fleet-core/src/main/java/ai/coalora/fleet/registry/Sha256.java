package ai.coalora.fleet.registry;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Content addresses: lowercase hex sha256. */
public final class Sha256 {
    public static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    private Sha256() {}

    public static String of(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static boolean isValid(String s) {
        return s != null && HEX.matcher(s).matches();
    }
}
