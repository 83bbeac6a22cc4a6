package ai.coalora.engine.bundle;

import ai.coalora.common.Sha256;
import ai.coalora.engine.io.FileTrees;
import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.quant.ModelQuantConfig;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The on-disk form every bundle kind shares (the encoder's {@link ModelBundle}, the decoder's {@link DecoderBundle}):
 * a directory holding a JSON manifest ({@value #MANIFEST}) and the trained arrays ({@value #TENSORS}), whose sha256
 * the manifest records. A directory is written whole into a staging sibling and moved into place, so a reader never
 * sees half of one; reading checks the checksum before parsing the tensors.
 */
final class BundleFiles {
    static final String MANIFEST = "bundle.json", TENSORS = "tensors.safetensors";

    private BundleFiles() {}

    /**
     * Writes {@code tensors} as the bundle of format {@code format} at {@code dir}, with the manifest {@code complete}
     * makes once it has the tensors' checksum; returns that manifest. Replaces as {@link #write(Path, byte[], byte[])}.
     */
    static <M> M write(Path dir, String format, Map<String, Safetensors.Tensor> tensors, Function<String, M> complete)
            throws IOException {
        byte[] tensorBytes = Safetensors.toBytes(tensors, Map.of("format", "pt", "coalora", format));
        M manifest = complete.apply(Sha256.of(tensorBytes));
        write(dir, tensorBytes, ModelBundle.JSON.writeValueAsBytes(manifest));
        return manifest;
    }

    /**
     * Writes {@code tensors} and {@code manifest} as the bundle at {@code dir}. An existing bundle there is replaced as
     * a whole; any other existing file or non-empty directory is an IllegalArgumentException.
     */
    static void write(Path dir, byte[] tensors, byte[] manifest) throws IOException {
        Path target = dir.toAbsolutePath().normalize();
        if (Files.exists(target) && !(Files.isRegularFile(target.resolve(MANIFEST)) || isEmptyDirectory(target))) {
            throw new IllegalArgumentException(dir + " exists and is not a model bundle: refusing to overwrite it");
        }
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".staging");
        try {
            // temp directories are private (rwx------); a bundle is meant to be read by services and other users
            if (staging.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            Files.write(staging.resolve(TENSORS), tensors);
            Files.write(staging.resolve(MANIFEST), manifest);
            if (Files.exists(target)) {
                Path old = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".old");
                Files.delete(old);
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                FileTrees.delete(old);
            } else {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            FileTrees.delete(staging);
        }
    }

    /**
     * The manifest of the bundle at {@code dir}, parsed as {@code type} once its format is {@code format}; errors name
     * the file and the problem (a bundle of the other kind is named as such, not reported as unknown fields).
     */
    static <T> T readManifest(Path dir, ObjectMapper json, String format, Class<T> type) throws IOException {
        Path file = dir.resolve(MANIFEST);
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString());
        if (!Files.isRegularFile(file))
            throw new IllegalArgumentException(dir + ": not a model bundle (no " + MANIFEST + ")");
        try {
            JsonNode tree = json.readTree(file.toFile());
            String found = tree.path("format").asText("");
            if (!format.equals(found)) {
                String kind = switch (found) {
                    case BundleManifest.FORMAT -> "an encoder bundle (" + found + ")";
                    case DecoderBundleManifest.FORMAT -> "a decoder bundle (" + found + ")";
                    default -> "of unknown bundle format '" + found + "'";
                };
                throw new IllegalArgumentException(file + ": " + kind + ", expected " + format);
            }
            return json.treeToValue(tree, type);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException(file + ": invalid manifest: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * The first of {@code front}'s configurations within {@code budgetBits} average bits in {@code order} (a bundle's
     * serving rule), or an IllegalArgumentException saying what the front spans.
     */
    static <P> P bestWithin(List<P> front, ToDoubleFunction<P> averageBits, double budgetBits, Comparator<P> order) {
        if (!Double.isFinite(budgetBits))
            throw new IllegalArgumentException("budget must be a finite number, got " + budgetBits);
        return front.stream()
                .filter(p -> averageBits.applyAsDouble(p) <= budgetBits + 1e-12)
                .min(order)
                .orElseThrow(() -> new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "no configuration of the bundle's front fits %.3f bits (the front spans %.3f..%.3f)",
                        budgetBits,
                        front.stream().mapToDouble(averageBits).min().orElse(Double.NaN),
                        front.stream().mapToDouble(averageBits).max().orElse(Double.NaN))));
    }

    /** The bundle's tensors, after checking that their bytes have the manifest's checksum. */
    static Safetensors.Contents readTensors(Path dir, String expectedSha256) throws IOException {
        Path file = dir.resolve(TENSORS);
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(dir + ": bundle lacks " + TENSORS);
        byte[] bytes = Files.readAllBytes(file);
        String sha = Sha256.of(bytes);
        if (!sha.equals(expectedSha256)) {
            throw new IllegalArgumentException(file + ": checksum " + sha + " does not match the manifest's "
                    + expectedSha256 + " (corrupt or modified)");
        }
        try {
            return Safetensors.fromBytes(bytes);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** A configuration as a manifest stores it: its {@code coalora.quant-config/v1} object. */
    static JsonNode json(ModelQuantConfig config) {
        try {
            return ModelBundle.JSON.readTree(config.toJson());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The configuration a manifest stores; an IllegalArgumentException if it does not parse. */
    static ModelQuantConfig quantConfig(JsonNode config) {
        try {
            return ModelQuantConfig.fromJson(ModelBundle.JSON.writeValueAsString(config));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("front configuration: " + e.getOriginalMessage(), e);
        }
    }

    /** Front point {@code index}'s configuration, checked: it parses and its average bits are the recorded ones. */
    static ModelQuantConfig frontConfig(String where, int index, JsonNode config, double averageBits) {
        try {
            ModelQuantConfig c = quantConfig(config);
            if (Math.abs(c.averageBits() - averageBits) > ModelQuantConfig.AVERAGE_BITS_TOLERANCE) {
                throw new IllegalArgumentException(
                        "averageBits " + averageBits + " but the matrices give " + c.averageBits());
            }
            return c;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": front[" + index + "]: " + e.getMessage(), e);
        }
    }

    private static boolean isEmptyDirectory(Path p) throws IOException {
        if (!Files.isDirectory(p)) return false;
        try (var s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }
}
