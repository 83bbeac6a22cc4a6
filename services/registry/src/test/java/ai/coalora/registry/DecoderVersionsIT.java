package ai.coalora.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.gguf.LlamaTensorNames;
import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.planning.ParetoSelection;
import ai.coalora.fleet.planning.QualityMeasure;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoder bundles as model versions: registered with the base model's files, which must be the ones the bundle was
 * trained on; the front predicts perplexity and is budgeted at the GGUF file's bytes from the base model's
 * {@code config.json}. The bundle is written by the engine's own writer with a hand-made front (the registry reads
 * manifests, config and checksums; it never runs the model).
 */
class DecoderVersionsIT {
    // widths the K-quants' 256-weight blocks divide: every matrix keeps its nominal type
    static final LlamaConfig DECODER = LlamaConfig.llama(512, 256, 768, 2, 4, 2, 1e-5, 10_000, 128, true);
    static final int RANK = 4;

    @TempDir
    static Path dir;

    static RegistryTestDatabase db;
    static BlobStore blobs;
    static ModelVersions versions;
    static Path base, bundle;
    static List<ModelQuantConfig> configs;

    @BeforeAll
    static void start() throws Exception {
        db = RegistryTestDatabase.start();
        blobs = new BlobStore(db.dataSource);
        blobs.dir = Files.createDirectories(dir.resolve("blobs")).toString();
        blobs.maxBytes = 1L << 30;
        versions = new ModelVersions(db.dataSource, blobs, new RegistryService(null));

        base = Files.createDirectories(dir.resolve("decoder"));
        DECODER.write(base.resolve(HfCheckpoint.CONFIG));
        Files.writeString(base.resolve(Pretraining.TOKENIZER_FILE), "{\"model\": {\"type\": \"BPE\"}}");
        byte[] weights = new byte[4096];
        new Random(7).nextBytes(weights); // the registry checks the weights' checksum, never their values
        Files.write(base.resolve(HfCheckpoint.SINGLE_FILE), weights);

        configs = List.of(uniform(2), uniform(4), uniform(8));
        List<DecoderBundleManifest.FrontPoint> front = new ArrayList<>();
        double[] losses = {4.9, 4.5, 4.4}; // perplexity falls as bits rise
        for (int i = 0; i < configs.size(); i++)
            front.add(DecoderBundleManifest.FrontPoint.of(configs.get(i), losses[i]));
        DecoderBundleManifest.BaseModel identity = DecoderBundleManifest.BaseModel.of(base);
        bundle = dir.resolve("bundle");
        DecoderBundle.write(
                bundle,
                new DecoderBundleManifest(
                        DecoderBundleManifest.FORMAT,
                        identity,
                        new DecoderBundleManifest.Task("reviews", "a".repeat(64), 24, 4),
                        RANK,
                        8f,
                        true,
                        "nf",
                        32,
                        front,
                        new BundleManifest.Training(
                                1,
                                8,
                                1e-3f,
                                0f,
                                1,
                                2,
                                "search",
                                3,
                                2,
                                3,
                                1.0,
                                0,
                                "2026-12-07T00:00:00Z",
                                null,
                                null,
                                null),
                        null),
                Map.of("lora.a", Safetensors.Tensor.ofFloats(new float[] {1, 2, 3, 4}, 2, 2)));
    }

    @AfterAll
    static void stop() {
        if (db != null) db.close();
    }

    /** Every quantized linear weight of the decoder at {@code b} bits. */
    static ModelQuantConfig uniform(int b) {
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        HfCheckpoint.requiredShapes(DECODER).forEach((name, shape) -> {
            if (LlamaTensorNames.isQuantizable(name))
                entries.add(new ModelQuantConfig.Entry(
                        new MatrixSpec(name, (int) shape[0], (int) shape[1]), QuantConfig.integerOnly(b)));
        });
        return new ModelQuantConfig(QuantizerKind.NF, entries);
    }

    /** Uploads files as blobs and names them as the version will. */
    static List<ModelVersions.FileName> upload(Map<String, byte[]> files) throws Exception {
        List<ModelVersions.FileName> out = new ArrayList<>();
        for (var e : files.entrySet()) {
            String sha = Sha256.of(e.getValue());
            blobs.put(sha, new ByteArrayInputStream(e.getValue()));
            out.add(new ModelVersions.FileName(e.getKey(), sha));
        }
        return out;
    }

    static Map<String, byte[]> versionFiles() throws Exception {
        return new java.util.TreeMap<>(Map.of(
                "bundle.json",
                Files.readAllBytes(bundle.resolve("bundle.json")),
                "tensors.safetensors",
                Files.readAllBytes(bundle.resolve("tensors.safetensors")),
                HfCheckpoint.CONFIG,
                Files.readAllBytes(base.resolve(HfCheckpoint.CONFIG)),
                Pretraining.TOKENIZER_FILE,
                Files.readAllBytes(base.resolve(Pretraining.TOKENIZER_FILE)),
                HfCheckpoint.SINGLE_FILE,
                Files.readAllBytes(base.resolve(HfCheckpoint.SINGLE_FILE))));
    }

    @Test
    void aDecoderBundleWithItsBaseModelIsAVersionWhoseFrontPredictsPerplexityAtGgufBytes() throws Exception {
        ModelVersions.Registered r =
                versions.register(new ModelVersions.Registration(upload(versionFiles()), null, null));
        ModelVersions.Version v = r.version();
        assertTrue(r.created());
        assertEquals(ModelVersions.Kind.DECODER, v.kind());
        assertEquals(QualityMeasure.PERPLEXITY, v.measure());
        assertEquals("reviews", v.task());
        assertEquals(5, v.files().size(), "the bundle and the base model it adapts");
        assertEquals(3, v.front().size());
        long quantized = configs.get(0).matrices().stream()
                .mapToLong(e -> e.matrix().numel())
                .sum();
        // outside the configuration: the tied token embeddings in F16, the 2 per-layer norms and the final one in F32
        long dense = 2L * 512 * 256 + 4L * 256 * (2 * 2 + 1);
        for (int i = 0; i < 3; i++) {
            FrontEntry e = v.front().get(i);
            assertEquals(QualityMeasure.PERPLEXITY, e.measure());
            assertEquals(configs.get(i).configId(), e.configId());
            assertEquals(List.of("gguf"), e.runtimeFormats());
            assertEquals(dense, e.gguf().denseBytes());
        }
        assertEquals(Math.exp(4.9), v.front().get(0).predicted(), 1e-9);
        // Q4_K: 144 bytes per 256 weights; Q2_K: 84; Q8_0: 34 per 32
        assertEquals(dense + quantized / 256 * 144, v.front().get(1).weightBytes());
        assertEquals(dense + quantized / 256 * 84, v.front().get(0).weightBytes());
        assertEquals(dense + quantized / 32 * 34, v.front().get(2).weightBytes());
        long lora = 0;
        for (ModelQuantConfig.Entry e : configs.get(0).matrices())
            lora += 4L * RANK * (e.matrix().rows() + e.matrix().cols());
        assertEquals(lora, v.front().get(0).adapterBytes(), "the GGUF LoRA's F32 factors");
        assertEquals(
                "perplexity", db.value("select measure from model_versions where model_version = ?", v.modelVersion()));
        assertEquals("decoder", db.value("select kind from model_versions where model_version = ?", v.modelVersion()));

        // the planner reads it as any front: the lowest perplexity that fits a llama.cpp device
        ParetoSelection s =
                new ParetoSelection(new ModelPromoted("production", v.modelVersion(), null, "t", "t", v.front()));
        DeviceCapabilities laptop =
                new DeviceCapabilities("laptop", 8L << 20, List.of(2, 4, 8), List.of("gguf"), "mid", 0L, null);
        assertEquals(configs.get(2).configId(), s.decide(laptop).choice().configId());
        DeviceCapabilities small = new DeviceCapabilities(
                "small",
                v.front().get(1).weightBytes() + v.front().get(1).adapterBytes(),
                List.of(2, 4, 8),
                List.of("gguf"),
                "low",
                0L,
                null);
        ParetoSelection.Decision d = s.decide(small);
        assertEquals(configs.get(1).configId(), d.choice().configId());
        assertTrue(d.reason().contains("predicted perplexity"), d.reason());
        assertNull(
                s.decide(new DeviceCapabilities(
                                "java", 1L << 30, List.of(2, 4, 8), List.of("coalora-packed"), "mid", 0L, null))
                        .choice(),
                "a decoder version is for llama.cpp runtimes");

        // the same files again: the same version
        assertEquals(
                false,
                versions.register(new ModelVersions.Registration(upload(versionFiles()), null, null))
                        .created());
    }

    @Test
    void theBaseModelMustBeTheOneTheBundleWasTrainedOn() throws Exception {
        long before = ((Number) db.value("select count(*) from model_versions")).longValue();
        Map<String, byte[]> otherWeights = versionFiles();
        otherWeights.put(HfCheckpoint.SINGLE_FILE, "other weights".getBytes(StandardCharsets.UTF_8));
        assertRefused(otherWeights, "the weights are not the bundle's base model's");

        Map<String, byte[]> otherConfig = versionFiles();
        otherConfig.put(
                HfCheckpoint.CONFIG,
                LlamaConfig.llama(512, 256, 768, 3, 4, 2, 1e-5, 10_000, 128, true)
                        .toJson()
                        .getBytes(StandardCharsets.UTF_8));
        assertRefused(otherConfig, "config.json is not the bundle's base model's");

        Map<String, byte[]> noTokenizer = versionFiles();
        noTokenizer.remove(Pretraining.TOKENIZER_FILE);
        assertRefused(noTokenizer, "the base model's tokenizer.json is missing");

        Map<String, byte[]> noBundle = versionFiles();
        noBundle.remove("bundle.json");
        assertRefused(noBundle, "bundle.json is missing");
        assertEquals(
                before, ((Number) db.value("select count(*) from model_versions")).longValue(), "nothing registered");
    }

    static void assertRefused(Map<String, byte[]> files, String why) throws Exception {
        List<ModelVersions.FileName> names = upload(files);
        ApiException e = assertThrows(
                ApiException.class, () -> versions.register(new ModelVersions.Registration(names, null, null)));
        assertEquals(ApiException.Status.BAD_REQUEST, e.status());
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
