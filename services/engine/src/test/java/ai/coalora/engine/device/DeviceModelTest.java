package ai.coalora.engine.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.bundle.AdapterEmission;
import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.DevicePackage;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.io.PeftAdapter;
import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.model.TokenBatch;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.train.AdamW;
import ai.coalora.engine.train.ClassifierHead;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device package built as the adapter generator builds one (4-bit base, an adapter briefly fine-tuned on it,
 * emitted by {@link AdapterEmission}), run from its bytes alone and compared with the engine's own path.
 */
class DeviceModelTest {
    static final int MAX_LENGTH = 64;
    static final String VERSION = "device-test-1";

    @TempDir
    static Path dir;

    static PretrainedModel model;
    static TaskData task;
    static ModelQuantConfig fourBit;
    static BaseWeights base;
    static NDManager trained;
    static LoraAdapter lora;
    static ClassifierHead head;
    static Map<String, byte[]> files = new HashMap<>();

    @BeforeAll
    static void buildPackage() throws IOException {
        model = PretrainedModel.miniLm(MAX_LENGTH);
        task = Tasks.builtin("sentiment");
        fourBit = ModelQuantConfig.uniform(
                QuantizedWeights.matrixSpecs(model.encoder()), QuantConfig.integerOnly(4), QuantizerKind.NF);
        base = QuantizedWeights.materialize(model.encoder(), fourBit);
        trained = model.encoder().manager().newSubManager();
        head = new ClassifierHead(
                BertConfig.MINILM_L6.hiddenSize(), task.labels().size(), 42, trained);
        lora = LoraAdapter.initialize(model.encoder(), new LoraSpec(8, 16), 43, trained);
        fineTuneBriefly(EncodedExamples.of(model.tokenizer(), task.train().subList(0, 128)));

        // the adapter files exactly as the generator emits them (a Shared-LoRA model: no configuration-aware network)
        BundleManifest manifest = new BundleManifest(
                BundleManifest.FORMAT,
                new BundleManifest.BaseModel(
                        "sentence-transformers/all-MiniLM-L6-v2", MiniLmArtifact.ONNX_SHA256, 6, 384),
                new BundleManifest.Task(task.name(), task.labels(), task.sourceSha256(), 128),
                8,
                16,
                false,
                QuantizerKind.NF.jsonName(),
                MAX_LENGTH,
                List.of(),
                null,
                null);
        AdapterEmission.write(
                new ModelBundle.Loaded(manifest, Map.of(), dir),
                new ModelBundle.Instance(new ConfigAwareLora(lora, null), head, trained),
                fourBit,
                dir,
                VERSION);
        Map<String, OnnxWeights.Tensor> weights = OnnxWeights.read(MiniLmArtifact.onnxFile());
        Files.write(dir.resolve(DevicePackage.PACKED), DevicePackage.packedBase(weights, fourBit));
        Files.write(dir.resolve(DevicePackage.DENSE), DevicePackage.denseBase(weights, BertConfig.MINILM_L6));
        for (String name : DeviceModel.FILES) files.put(name, Files.readAllBytes(dir.resolve(name)));
    }

    /** One epoch over 128 sentences, batches of 16: enough for an adapter and head well above chance. */
    static void fineTuneBriefly(EncodedExamples train) {
        SentenceClassifier classifier = new SentenceClassifier(model.encoder(), head);
        List<NDArray> params = new ArrayList<>(head.parameters());
        params.addAll(lora.parameters());
        try (AdamW optimizer = new AdamW(params, 0.01f, 1f, trained)) {
            for (int[] batch : FineTuner.lengthBucketedBatches(train, 16, new Random(1))) {
                try (NDManager scope = trained.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    TokenBatch tokens = TokenBatch.of(train.ids(batch, 0, batch.length), scope);
                    gc.backward(SentenceClassifier.crossEntropy(
                            classifier.logits(tokens, base, lora), train.labels(batch, 0, batch.length)));
                }
                optimizer.step(3e-3f);
            }
        }
    }

    @AfterAll
    static void close() {
        if (model != null) model.close(); // frees the base weights, adapter and head with the encoder's manager
    }

    @Test
    void runsLikeTheEngineFromThePackageAlone() {
        List<Example> sample = task.validation().subList(0, 64);
        EncodedExamples data = EncodedExamples.of(model.tokenizer(), sample);
        SentenceClassifier engine = new SentenceClassifier(model.encoder(), head);
        try (NDManager parent = NDManager.newBaseManager();
                DeviceModel device = DeviceModel.load(files, parent)) {
            float[][] onDevice = device.logits(
                    model.tokenizer(), sample.stream().map(Example::text).toList(), MAX_LENGTH);
            float[] expected;
            int[] order = data.lengthOrder(); // one batch of 64 in length order, as the device batches them
            try (NDManager scope = model.encoder().manager().newSubManager()) {
                expected = engine.logits(TokenBatch.of(data.ids(order, 0, order.length), scope), base, lora)
                        .toFloatArray();
            }
            int labels = task.labels().size();
            double maxDiff = 0;
            for (int i = 0; i < order.length; i++) {
                for (int k = 0; k < labels; k++)
                    maxDiff = Math.max(maxDiff, Math.abs(expected[i * labels + k] - onDevice[order[i]][k]));
            }
            assertTrue(maxDiff < 1e-4, "logits differ by " + maxDiff);

            DeviceModel.Evaluation cold = device.evaluate(model.tokenizer(), sample, MAX_LENGTH);
            DeviceModel.Evaluation warm = device.evaluate(model.tokenizer(), sample, MAX_LENGTH);
            double engineAccuracy = FineTuner.accuracy(engine, base, lora, data, null);
            System.out.printf(
                    "device vs engine: max logit difference %.2e; accuracy %.3f (engine %.3f) on %d sentences, "
                            + "%.2f ms/example (first run %.2f); memoryBytes %d (%.1f MiB)%n",
                    maxDiff,
                    warm.accuracy(),
                    engineAccuracy,
                    warm.examples(),
                    warm.msPerExample(),
                    cold.msPerExample(),
                    device.memoryBytes(),
                    device.memoryBytes() / 1048576.0);
            assertEquals(engineAccuracy, warm.accuracy(), 0.0);
            assertEquals(64, warm.examples());
            assertTrue(warm.accuracy() >= 0.7, "a briefly fine-tuned adapter is well above chance: " + warm.accuracy());
        }
    }

    @Test
    void holdsWhatItDownloadedAndSaysWhatItIs() throws IOException {
        try (NDManager parent = NDManager.newBaseManager();
                DeviceModel device = DeviceModel.load(files, parent)) {
            long downloaded = 0;
            for (String name : List.of(
                    DevicePackage.PACKED, DevicePackage.DENSE, PeftAdapter.WEIGHTS_FILE, AdapterEmission.HEAD)) {
                downloaded += Files.size(dir.resolve(name));
            }
            assertEquals(downloaded, device.memoryBytes());
            // what the planner budgets is the same up to the files' headers
            long budgeted = DevicePackage.weightBytes(BertConfig.MINILM_L6, fourBit)
                    + DevicePackage.adapterBytes(
                            8, fourBit, BertConfig.MINILM_L6, task.labels().size());
            assertTrue(
                    Math.abs(device.memoryBytes() - budgeted) < budgeted / 1000,
                    device.memoryBytes() + " vs " + budgeted);
            assertEquals(fourBit.configId(), device.configId());
            assertEquals(fourBit, device.config());
            assertEquals(fourBit.averageBits(), device.averageBits(), 1e-12);
            assertEquals(task.labels(), device.labels());
            assertEquals(VERSION, device.modelVersion());
        }
    }

    @Test
    void aMissingFileIsNamed() {
        Map<String, byte[]> bad = new HashMap<>(files);
        bad.remove(AdapterEmission.HEAD);
        assertRejected(bad, "lacks " + AdapterEmission.HEAD);
    }

    @Test
    void aTruncatedPackedBaseIsRefused() {
        Map<String, byte[]> bad = new HashMap<>(files);
        bad.put(
                DevicePackage.PACKED,
                Arrays.copyOf(files.get(DevicePackage.PACKED), files.get(DevicePackage.PACKED).length - 100));
        assertRejected(bad, DevicePackage.PACKED + ": ");
    }

    @Test
    void aSidecarForAnotherConfigurationIsRefused() {
        String other = ModelQuantConfig.uniform(
                        QuantizedWeights.matrixSpecs(model.encoder()), QuantConfig.integerOnly(3), QuantizerKind.NF)
                .configId();
        String sidecar = new String(files.get(AdapterEmission.SIDECAR), StandardCharsets.UTF_8);
        assertTrue(sidecar.contains(fourBit.configId()));
        Map<String, byte[]> bad = new HashMap<>(files);
        bad.put(
                AdapterEmission.SIDECAR,
                sidecar.replace(fourBit.configId(), other).getBytes(StandardCharsets.UTF_8));
        String message = assertRejected(bad, AdapterEmission.SIDECAR + " names configuration " + other);
        assertTrue(message.contains(fourBit.configId()), message);
    }

    @Test
    void aHeadWithAnotherLabelCountIsRefused() {
        int hidden = BertConfig.MINILM_L6.hiddenSize();
        Map<String, byte[]> bad = new HashMap<>(files);
        bad.put(
                AdapterEmission.HEAD,
                Safetensors.toBytes(
                        Map.of(
                                "weight", Safetensors.Tensor.ofFloats(new float[3 * hidden], 3, hidden),
                                "bias", Safetensors.Tensor.ofFloats(new float[3], 3)),
                        Map.of("labels", String.join(",", task.labels()))));
        assertRejected(bad, AdapterEmission.HEAD + ": ");
    }

    @Test
    void anAdapterForOtherShapesIsRefused() throws IOException {
        // query is 384 x 384; factors for a 384 x 1536 matrix cannot adapt it
        Path other = dir.resolve("other-adapter");
        new PeftAdapter(
                        "m",
                        8,
                        16,
                        List.of("query"),
                        "SEQ_CLS",
                        Map.of(
                                "encoder.layer.0.attention.self.query.weight",
                                new PeftAdapter.LoraPair(384, 1536, new float[8 * 1536], new float[384 * 8])),
                        Map.of())
                .write(other);
        Map<String, byte[]> bad = new HashMap<>(files);
        bad.put(PeftAdapter.CONFIG_FILE, Files.readAllBytes(other.resolve(PeftAdapter.CONFIG_FILE)));
        bad.put(PeftAdapter.WEIGHTS_FILE, Files.readAllBytes(other.resolve(PeftAdapter.WEIGHTS_FILE)));
        assertRejected(bad, "encoder.layer.0.attention.self.query.weight are for a 384 x 1536 matrix");
    }

    /** Loading fails with a message containing {@code expected}; returns the message. */
    static String assertRejected(Map<String, byte[]> bad, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            try (NDManager parent = NDManager.newBaseManager()) {
                DeviceModel.load(bad, parent).close();
            }
        });
        assertTrue(e.getMessage().contains(expected), "message: " + e.getMessage());
        return e.getMessage();
    }
}
