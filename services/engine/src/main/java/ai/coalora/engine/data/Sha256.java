package ai.coalora.engine.data;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Lowercase hex sha256, for data lineage. */
final class Sha256 {
    private final MessageDigest digest;

    Sha256() {
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    Sha256 update(byte[] bytes) {
        digest.update(bytes);
        return this;
    }

    String hex() { return HexFormat.of().formatHex(digest.digest()); }

    static String hex(byte[] bytes) { return new Sha256().update(bytes).hex(); }
}
