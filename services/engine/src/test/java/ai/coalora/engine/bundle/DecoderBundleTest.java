package ai.coalora.engine.bundle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.gguf.GgufDecoderExport;
import ai.coalora.engine.gguf.GgufLoraFile;
import ai.coalora.engine.gguf.GgufReader;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.gguf.LlamaTensorNames;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.LanguageModelLoss;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lm.TokenWindows;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A decoder bundle as it is used: trained on a tiny Llama pretrained here (seconds), read back to the same model,
 * refused for another model or damaged tensors, and deployed as GGUF.
 */
class DecoderBundleTest {
    private static final int SEQ = 32;

    @TempDir
    static Path dir;

    static Path model, bundle;
    static TaskData reviews;
    static DecoderBundleManifest manifest;
    static double trainMillis;

    @BeforeAll
    static void trainATinyBundle() throws Exception {
        assumeTrue(LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh");
        model = dir.resolve("tiny-lm");
        long t0 = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager()) {
            Pretraining.run(
                    LmCorpus.load(),
                    new Pretraining.Settings(
                            384, 32, 2, 4, 2, 88, SEQ, 8, 80, 0, 1e-2f, 6, 0.0f, 1.0f, 11, 8, 20, 60_000),
                    model,
                    manager,
                    line -> {});
        }
        long t1 = System.nanoTime();
        reviews = Tasks.builtin("sentiment");
        DecoderBundleTraining training = training(5e-3f, new LoraSpec(4, 8), SEQ);
        bundle = dir.resolve("lm-bundle");
        manifest = training.run(model, reviews, bundle, Progress.NONE);
        trainMillis = (System.nanoTime() - t1) / 1e6;
        System.out.printf(
                "decoder bundle: pretrain %.1f s, train %.1f s, tensors %d bytes, front %d%n",
                (t1 - t0) / 1e9,
                trainMillis / 1e3,
                Files.size(bundle.resolve(BundleFiles.TENSORS)),
                manifest.front().size());
    }

    @Test
    void manifestDescribesTheModelTaskAndFront() throws Exception {
        DecoderBundle.Loaded loaded = DecoderBundle.read(bundle);
        DecoderBundleManifest m = loaded.manifest();
        assertEquals(manifest, m);
        assertEquals(DecoderBundleManifest.FORMAT, m.format());
        assertEquals(
                model.toAbsolutePath().normalize().toString(), m.baseModel().path());
        assertEquals("LlamaForCausalLM", m.baseModel().architecture());
        assertEquals(2, m.baseModel().numLayers());
        assertEquals(64, m.baseModel().weightsSha256().length());
        assertEquals(reviews.sourceSha256(), m.task().dataSha256());
        assertEquals(24, m.task().trainWindows());
        assertEquals("search", m.training().policy());
        // wall time by phase, as for encoder bundles (writing comes after the manifest is made)
        assertEquals(
                List.of(
                        PhaseTimer.LOADING,
                        PhaseTimer.ENCODING,
                        PhaseTimer.CALIBRATION,
                        PhaseTimer.TRAINING,
                        PhaseTimer.SEARCH,
                        PhaseTimer.FRONT),
                List.copyOf(m.training().phaseSeconds().keySet()));
        assertTrue(m.training().phaseSeconds().get(PhaseTimer.FRONT) > 0);
        assertTrue(m.configAware());
        assertTrue(m.front().size() >= 2, "front of " + m.front().size());
        for (var p : m.front()) {
            assertTrue(p.validationPerplexity() > 1 && Double.isFinite(p.validationPerplexity()));
            assertEquals(p.averageBits(), p.quantConfig().averageBits(), 1e-12);
        }
        var best = m.bestWithin(8.7);
        assertTrue(m.front().stream().allMatch(p -> p.validationLoss() >= best.validationLoss()));
        assertThrows(IllegalArgumentException.class, () -> m.bestWithin(2.0));
    }

    @Test
    void loadsBackTheTrainedModel() throws Exception {
        DecoderBundle.Loaded loaded = DecoderBundle.read(bundle);
        loaded.checkBaseModel(model);
        BpeTokenizer tokenizer = BpeTokenizer.load(model.resolve(Pretraining.TOKENIZER_FILE));
        TokenWindows validation = TokenWindows.of(
                tokenizer, reviews.validation().stream().map(Example::text).toList(), SEQ, 8);
        DecoderBundleManifest.FrontPoint point = loaded.manifest().front().get(0);
        ModelQuantConfig config = point.quantConfig();
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.load(model, manager);
                DecoderBundle.Instance instance = loaded.instantiate(decoder, manager)) {
            // what the engine holds serialises to exactly the bytes on disk
            assertEquals(loaded.tensors(), DecoderBundle.tensorsOf(instance.model()));
            // and scores what training measured for the front
            try (NDManager scope = manager.newSubManager();
                    LoraAdapter folded = instance.model().fold(config, scope);
                    BaseWeights base = QuantizedWeights.materialize(decoder, config)) {
                assertEquals(
                        point.validationLoss(), LanguageModelLoss.meanLoss(decoder, validation, base, folded), 1e-4);
            }

            // written again and read back: the same folded adapter, bit for bit
            Path copy = dir.resolve("copy");
            DecoderBundle.write(copy, loaded.manifest(), DecoderBundle.tensorsOf(instance.model()));
            try (DecoderBundle.Instance again = DecoderBundle.read(copy).instantiate(decoder, manager);
                    NDManager scope = manager.newSubManager();
                    LoraAdapter a = instance.model().fold(config, scope);
                    LoraAdapter b = again.model().fold(config, scope)) {
                for (LinearId id : a.matrices()) {
                    assertArrayEquals(a.a(id).toFloatArray(), b.a(id).toFloatArray(), 0f, id.weightName());
                    assertArrayEquals(a.b(id).toFloatArray(), b.b(id).toFloatArray(), 0f, id.weightName());
                }
            }
        }
    }

    @Test
    void refusesAnotherModel() throws Exception {
        DecoderBundle.Loaded loaded = DecoderBundle.read(bundle);
        Path other = dir.resolve("other-lm");
        Files.createDirectories(other);
        for (String f : new String[] {HfCheckpoint.CONFIG, HfCheckpoint.SINGLE_FILE, Pretraining.TOKENIZER_FILE}) {
            Files.copy(model.resolve(f), other.resolve(f));
        }
        loaded.checkBaseModel(other); // a moved copy is the same model
        flipLastByte(other.resolve(HfCheckpoint.SINGLE_FILE)); // one weight changed
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> loaded.checkBaseModel(other));
        assertTrue(e.getMessage().contains("is another model (its weights differ)"), e.getMessage());

        // another shape of model cannot even be instantiated
        var wider = Pretraining.config(
                new Pretraining.Settings(384, 48, 2, 4, 2, 88, SEQ, 8, 80, 0, 1e-2f, 6, 0.0f, 1.0f, 11, 8, 20, 60_000),
                loaded.manifest().baseModel().vocabSize());
        try (NDManager manager = NDManager.newBaseManager()) {
            e = assertThrows(IllegalArgumentException.class, () -> loaded.instantiate(wider, manager));
            assertTrue(e.getMessage().contains("blocks of width 32"), e.getMessage());
        }
        // an encoder bundle reader names the kind it found
        e = assertThrows(IllegalArgumentException.class, () -> ModelBundle.read(bundle));
        assertTrue(
                e.getMessage()
                        .contains(
                                "a decoder bundle (" + DecoderBundleManifest.FORMAT + "), expected coalora.bundle/v1"),
                e.getMessage());
    }

    @Test
    void refusesCorruptOrMissingTensors() throws Exception {
        DecoderBundle.Loaded loaded = DecoderBundle.read(bundle);
        Path corrupt = dir.resolve("corrupt");
        DecoderBundle.write(corrupt, loaded.manifest(), loaded.tensors());
        flipLastByte(corrupt.resolve(BundleFiles.TENSORS));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DecoderBundle.read(corrupt));
        assertTrue(e.getMessage().contains("corrupt or modified"), e.getMessage());
        Files.delete(corrupt.resolve(BundleFiles.TENSORS));
        e = assertThrows(IllegalArgumentException.class, () -> DecoderBundle.read(corrupt));
        assertTrue(e.getMessage().contains("bundle lacks tensors.safetensors"), e.getMessage());

        // a consistent bundle (its checksum matches) that lacks one factor
        Map<String, Tensor> fewer = new TreeMap<>(loaded.tensors());
        String missing = "lora.model.layers.1.mlp.down_proj.weight.B";
        assertNotNull(fewer.remove(missing));
        Path partial = dir.resolve("partial");
        DecoderBundle.write(partial, loaded.manifest(), fewer);
        try (NDManager manager = NDManager.newBaseManager()) {
            var config = ai.coalora.engine.decoder.LlamaConfig.read(model.resolve(HfCheckpoint.CONFIG));
            e = assertThrows(
                    IllegalArgumentException.class,
                    () -> DecoderBundle.read(partial).instantiate(config, manager));
            assertTrue(e.getMessage().contains("bundle lacks tensor " + missing), e.getMessage());
        }
    }

    @Test
    void deploysAsGgufModelAndAdapter() throws Exception {
        DecoderBundle.Loaded loaded = DecoderBundle.read(bundle);
        ModelQuantConfig config = loaded.manifest().bestWithin(4.5).quantConfig();
        HfCheckpoint checkpoint = HfCheckpoint.load(model);
        BpeTokenizer tokenizer = BpeTokenizer.load(model.resolve(Pretraining.TOKENIZER_FILE));
        Path out = dir.resolve("gguf");
        GgufDeployment.Written w;
        Map<String, GgufLoraFile.Pair> folded;
        try (NDManager manager = NDManager.newBaseManager();
                DecoderBundle.Instance instance = loaded.instantiate(checkpoint.config(), manager);
                NDManager scope = manager.newSubManager();
                LoraAdapter f = instance.model().fold(config, scope)) {
            w = GgufDeployment.write(checkpoint, tokenizer, config, GgufTypeMapping.K_QUANTS, instance, out);
            folded = GgufDeployment.pairs(f);
        }
        System.out.printf(
                "decoder bundle gguf: %.3f bits (gguf %.3f), model %d bytes, adapter %d bytes, fold %.2f ms, %.2f s%n",
                w.averageBits(), w.ggufBitsPerWeight(), w.modelBytes(), w.adapterBytes(), w.foldMillis(), w.seconds());
        try (GgufReader reader = GgufReader.open(w.model())) {
            assertEquals(
                    HfCheckpoint.requiredShapes(checkpoint.config()).size(),
                    reader.tensorInfos().size());
            Set<String> names = reader.tensorInfos().stream()
                    .map(GgufReader.TensorInfo::name)
                    .collect(Collectors.toSet());
            GgufLoraFile lora = GgufLoraFile.read(w.adapter());
            assertEquals(14, lora.pairs().size(), "7 matrices x 2 blocks");
            assertTrue(
                    names.containsAll(lora.pairs().keySet()),
                    "adapter names " + lora.pairs().keySet() + " not all in " + names);
            assertEquals(loaded.manifest().alpha(), lora.alpha());
            assertEquals(
                    loaded.manifest().seqLen(),
                    reader.metadata().get(GgufDeployment.WINDOW_KEY).asLong(),
                    "the model says which windows its front perplexities were measured on");
            // back in HF layout, the adapter is exactly the folded one
            Map<String, GgufLoraFile.Pair> back = GgufDecoderExport.loraPairs(lora, checkpoint.config());
            assertEquals(folded.keySet(), back.keySet());
            for (String name : folded.keySet()) {
                assertTrue(LlamaTensorNames.isQuantizable(name));
                assertArrayEquals(folded.get(name).a(), back.get(name).a(), 0f, name);
                assertArrayEquals(folded.get(name).b(), back.get(name).b(), 0f, name);
            }
        }
        assertEquals(
                checkpoint.config().numLayers(),
                GgufDecoderExport.read(w.model()).config().numLayers());
    }

    /** One epoch, batch 8, 2 configurations per step, a 3-budget grid and 2 search candidates: seconds. */
    static DecoderBundleTraining training(float learningRate, LoraSpec lora, int seqLen) {
        FineTuneSettings t = new FineTuneSettings(1, 8, learningRate, 0.0f, 1.0f, 3, lora);
        return new DecoderBundleTraining(new CoaSettings(t, 2, true, 8), seqLen, 24, 4, 8, 3, 2, 2);
    }

    static DecoderBundleManifest train(DecoderBundleTraining training, Path out, DecoderWarmStart warm)
            throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.load(model, manager)) {
            return training.run(
                    decoder,
                    BpeTokenizer.load(model.resolve(Pretraining.TOKENIZER_FILE)),
                    DecoderBundleManifest.BaseModel.of(model),
                    reviews,
                    out,
                    Progress.NONE,
                    new PhaseTimer(),
                    warm);
        }
    }

    static ModelQuantConfig uniformThreeBit() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.load(model, manager)) {
            return ModelQuantConfig.uniform(
                    QuantizedWeights.matrixSpecs(decoder), QuantConfig.integerOnly(3), QuantizerKind.NF);
        }
    }

    /**
     * A warm start begins at the parent's trained arrays: with a learning rate too small to move a float, the child's
     * tensors are the parent's (a fresh start would be the initialisation), and the lineage names the parent and the
     * configuration that joined.
     */
    @Test
    void aWarmStartBeginsAtTheParentAndAddsItsConfiguration() throws Exception {
        DecoderBundle.Loaded parent = DecoderBundle.read(bundle);
        ModelQuantConfig threeBit = uniformThreeBit();
        assertTrue(
                parent.manifest().front().stream()
                        .noneMatch(p -> p.quantConfig().configId().equals(threeBit.configId())),
                "pick a configuration the parent's front lacks");
        DecoderWarmStart warm = new DecoderWarmStart(parent, List.of(threeBit, threeBit), null);
        DecoderBundleManifest child =
                train(training(Float.MIN_NORMAL, new LoraSpec(4, 8), SEQ), dir.resolve("lm-child"), warm);

        assertEquals(parent.manifest().tensorsSha256(), child.training().warmStartFrom());
        assertEquals(1, child.training().extraConfigurations(), "given twice, one configuration");
        assertEquals(
                parent.manifest().training().initialConfigurations() + 1,
                child.training().initialConfigurations());
        assertTrue(
                child.front().stream().anyMatch(p -> p.quantConfig().configId().equals(threeBit.configId())));
        assertEquals(child, DecoderBundle.read(dir.resolve("lm-child")).manifest(), "the lineage reads back");
        Map<String, Tensor> before = parent.tensors(),
                after = DecoderBundle.read(dir.resolve("lm-child")).tensors();
        assertEquals(before.keySet(), after.keySet());
        for (String name : before.keySet())
            assertArrayEquals(before.get(name).floats(), after.get(name).floats(), 1e-30f, name);
        assertEquals(parent.tensors(), DecoderBundle.read(bundle).tensors(), "the parent bundle changed");
    }

    @Test
    void aWarmStartRefusesAParentOfAnotherTraining() throws Exception {
        DecoderWarmStart warm = new DecoderWarmStart(DecoderBundle.read(bundle), null, null);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> train(training(5e-3f, new LoraSpec(8, 16), SEQ), dir.resolve("bad-rank"), warm));
        assertTrue(e.getMessage().contains("rank 4"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> train(training(5e-3f, new LoraSpec(4, 8), SEQ / 2), dir.resolve("bad-windows"), warm));
        assertTrue(e.getMessage().contains("windows of " + SEQ), e.getMessage());
        assertTrue(Files.notExists(dir.resolve("bad-rank")) && Files.notExists(dir.resolve("bad-windows")));
    }

    private static void flipLastByte(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 0x01;
        Files.write(file, bytes, StandardOpenOption.TRUNCATE_EXISTING);
    }
}
