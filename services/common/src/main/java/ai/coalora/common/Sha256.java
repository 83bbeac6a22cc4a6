package ai.coalora.common;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * SHA-256 as the project writes it everywhere (content addresses, lineage, cache keys): 64 lowercase hex digits.
 * The static methods hash whole inputs; an instance is an incremental digest, finished once by {@link #hex()}.
 */
public final class Sha256 {
    /** A well-formed hash: exactly 64 lowercase hex digits. */
    public static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    private static final HexFormat LOWER_HEX = HexFormat.of();

    private final MessageDigest digest;

    public Sha256() {
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    public static String of(byte[] bytes) {
        return new Sha256().update(bytes).hex();
    }

    /** The hash of the string's UTF-8 bytes. */
    public static String of(String text) {
        return new Sha256().update(text).hex();
    }

    /** The hash of the file's contents, streamed (model weights can be gigabytes). */
    public static String of(Path file) throws IOException {
        return new Sha256().update(file).hex();
    }

    /** The hash of the files' contents one after the other, streamed (a List: a Path is itself an Iterable). */
    public static String of(List<Path> files) throws IOException {
        Sha256 sha = new Sha256();
        for (Path f : files) sha.update(f);
        return sha.hex();
    }

    /** The hash of what is left in the stream, read to its end (not closed). */
    public static String of(InputStream in) throws IOException {
        return new Sha256().update(in).hex();
    }

    /** Whether {@code s} is a well-formed hash ({@link #HEX}); false for null. */
    public static boolean isValid(String s) {
        return s != null && HEX.matcher(s).matches();
    }

    public Sha256 update(byte b) {
        digest.update(b);
        return this;
    }

    public Sha256 update(byte[] bytes) {
        digest.update(bytes);
        return this;
    }

    public Sha256 update(byte[] bytes, int offset, int length) {
        digest.update(bytes, offset, length);
        return this;
    }

    /** Adds the string's UTF-8 bytes. */
    public Sha256 update(String text) {
        return update(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Adds what is left in the stream, read to its end (not closed). */
    public Sha256 update(InputStream in) throws IOException {
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
        return this;
    }

    /** Adds the file's contents, streamed. */
    public Sha256 update(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return update(in);
        }
    }

    /** The hash of everything added, as lowercase hex; the digest starts over afterwards. */
    public String hex() {
        return LOWER_HEX.formatHex(digest.digest());
    }
}
