package ai.coalora.fleet.security;

import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Instant;
import java.util.Base64;

/**
 * An online signing key, delegated by the root key: the root (kept offline by the operators, its public half pinned
 * on every device at enrolment) signs "this key may sign package manifests until {@code expires}". Packages are signed
 * by the online key, which is rotated by delegating a new one, without touching any device. A much reduced form of
 * the key roles of TUF or Mender.
 *
 * @param publicKey     the online key's public half, base64 X.509
 * @param expires       until when the root vouches for it
 * @param rootSignature the root's Ed25519 signature over {@link #statement()}, base64
 */
public record SigningKey(String publicKey, Instant expires, String rootSignature) {
    static final String HEADER = "coalora-signing-key/v1";

    /** The root's statement about {@code online}, signed. */
    public static SigningKey delegate(PrivateKey root, PublicKey online, Instant expires) {
        SigningKey unsigned = new SigningKey(Ed25519.encode(online), expires, null);
        return new SigningKey(
                unsigned.publicKey,
                expires,
                Base64.getEncoder().encodeToString(Ed25519.sign(root, unsigned.statement())));
    }

    /** The exact bytes the root signs. */
    byte[] statement() {
        return (HEADER + "\nkey " + publicKey + "\nexpires " + expires + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** The online key, once the pinned {@code root} is shown to vouch for it at {@code now}; else why not. */
    PublicKey verifiedBy(PublicKey root, Instant now) throws ManifestRefused {
        if (publicKey == null || expires == null || rootSignature == null) {
            throw new ManifestRefused("the signing key carries no root signature");
        }
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(rootSignature);
        } catch (IllegalArgumentException e) {
            throw new ManifestRefused("the signing key's root signature is not base64");
        }
        if (!Ed25519.verify(root, statement(), signature)) {
            throw new ManifestRefused("the signing key is not vouched for by the pinned root key");
        }
        if (!now.isBefore(expires)) throw new ManifestRefused("the signing key expired at " + expires);
        try {
            return Ed25519.publicKey(publicKey);
        } catch (IllegalArgumentException e) {
            throw new ManifestRefused("the signing key is not an Ed25519 public key");
        }
    }
}
