package ai.coalora.fleet.security;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;

/**
 * The fleet's signing keys on disk, in one directory:
 * <ul>
 *   <li>{@value #ROOT}: the root key pair (owner-only). It signs nothing but delegations; keep it offline.</li>
 *   <li>{@value #ROOT_PUBLIC}: the root's public key, base64: what every device pins at enrolment.</li>
 *   <li>{@value #SIGNING}: the online signing key with the root's delegation (owner-only): what the adapter-generator
 *       signs package manifests with ({@code COALORA_SIGNING_KEY_FILE}).</li>
 * </ul>
 * Rotating the online key writes a new {@value #SIGNING}; devices keep their pinned root and accept it at once.
 */
public final class FleetKeys {
    public static final String ROOT = "root-key.json", ROOT_PUBLIC = "root-key.pub", SIGNING = "signing-key.json";

    /** A key pair as stored. */
    public record Root(String publicKey, String privateKey) {}

    /** The online key as the generator loads it: its private half and the root's delegation of its public half. */
    public record Online(String privateKey, SigningKey signingKey) {
        public PrivateKey key() {
            return Ed25519.privateKey(privateKey);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private FleetKeys() {}

    /** Creates a root key and a first online key valid for {@code validity}; refuses to overwrite a root. */
    public static void init(Path dir, Duration validity) throws IOException {
        if (Files.exists(dir.resolve(ROOT))) throw new IllegalArgumentException(dir.resolve(ROOT) + " exists already");
        Files.createDirectories(dir);
        KeyPair root = Ed25519.generate();
        writePrivate(
                dir.resolve(ROOT),
                JSON.writeValueAsBytes(new Root(Ed25519.encode(root.getPublic()), Ed25519.encode(root.getPrivate()))));
        write(
                dir.resolve(ROOT_PUBLIC),
                (Ed25519.encode(root.getPublic()) + "\n").getBytes(StandardCharsets.US_ASCII),
                false);
        rotate(dir, validity);
    }

    /** A new online key, delegated by the root in {@code dir} until now + {@code validity}, replacing the previous one. */
    public static Online rotate(Path dir, Duration validity) throws IOException {
        Root root = JSON.readValue(dir.resolve(ROOT).toFile(), Root.class);
        KeyPair online = Ed25519.generate();
        Online o = new Online(
                Ed25519.encode(online.getPrivate()),
                SigningKey.delegate(
                        Ed25519.privateKey(root.privateKey()),
                        online.getPublic(),
                        Instant.now().plus(validity)));
        writePrivate(dir.resolve(SIGNING), JSON.writeValueAsBytes(o));
        return o;
    }

    /** The online key file the generator signs with; a missing or malformed file is an error naming it. */
    public static Online readOnline(Path file) throws IOException {
        try {
            Online o = JSON.readValue(file.toFile(), Online.class);
            o.key();
            Ed25519.publicKey(o.signingKey().publicKey());
            return o;
        } catch (IOException | IllegalArgumentException | NullPointerException e) {
            throw new IOException(file + ": not a signing key file (" + e.getMessage() + ")", e);
        }
    }

    /** A pinned root public key: the {@value #ROOT_PUBLIC} file's base64 text. */
    public static PublicKey readRootPublic(Path file) throws IOException {
        try {
            return Ed25519.publicKey(
                    Files.readString(file, StandardCharsets.US_ASCII).trim());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": not an Ed25519 public key", e);
        }
    }

    private static void writePrivate(Path file, byte[] bytes) throws IOException {
        write(file, bytes, true);
    }

    /** Writes {@code file} whole (a temporary sibling moved into place); {@code ownerOnly} before any byte is in it. */
    private static void write(Path file, byte[] bytes, boolean ownerOnly) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), ".key", ".tmp");
        if (ownerOnly) {
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException notPosix) {
                // not a POSIX file system: the directory's permissions protect it
            }
        }
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
