package ai.coalora.engine.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pretraining a tiny decoder: autograd agrees with finite differences, the loss falls, the saved folder loads back. */
class PretrainingTest {
    @TempDir
    Path dir;

    private static final long[][] IDS = {{3, 17, 5, 29, 11, 2, 8}, {30, 1, 4, 4, 19, 7, 22}};

    /** Untied, GQA, 2 layers, larger-than-init weights so that gradients are well above float32 noise. */
    private static HfCheckpoint tinyRandom() {
        LlamaConfig c = LlamaConfig.llama(31, 16, 24, 2, 4, 2, 1e-5, 10000.0, 16, false);
        Random random = new Random(7);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : HfCheckpoint.requiredShapes(c).entrySet()) {
            long[] shape = e.getValue();
            int n = (int) (shape.length == 1 ? shape[0] : shape[0] * shape[1]);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                double g = random.nextGaussian();
                v[i] = (float) (e.getKey().endsWith("norm.weight") ? 1 + 0.1 * g : 0.5 * g);
            }
            tensors.put(e.getKey(), Tensor.ofFloats(v, shape));
        }
        return new HfCheckpoint(c, tensors);
    }

    private static double loss(HfCheckpoint ckpt, NDManager manager) {
        try (NDManager scope = manager.newSubManager();
                LlamaDecoder d = LlamaDecoder.of(ckpt, scope)) {
            NDArray ids = scope.create(flat(IDS), new Shape(IDS.length, IDS[0].length));
            return d.loss(ids).getFloat();
        }
    }

    private static long[] flat(long[][] rows) {
        long[] f = new long[rows.length * rows[0].length];
        for (int r = 0; r < rows.length; r++) System.arraycopy(rows[r], 0, f, r * rows[0].length, rows[0].length);
        return f;
    }

    private static HfCheckpoint perturbed(HfCheckpoint ckpt, String name, int index, float delta) {
        Map<String, Tensor> tensors = new LinkedHashMap<>(ckpt.tensors());
        Tensor t = tensors.get(name);
        float[] v = t.floats();
        v[index] += delta;
        tensors.put(name, Tensor.ofFloats(v, t.shape()));
        return new HfCheckpoint(ckpt.config(), tensors);
    }

    @Test
    void autogradMatchesFiniteDifferences() {
        HfCheckpoint ckpt = tinyRandom();
        // (name, index in the HF layout) over every kind of parameter
        String[] names = {
            "model.embed_tokens.weight",
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.1.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight",
            "model.layers.1.self_attn.o_proj.weight",
            "model.layers.0.mlp.gate_proj.weight",
            "model.layers.1.mlp.up_proj.weight",
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.1.input_layernorm.weight",
            "model.norm.weight",
            "lm_head.weight"
        };
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, float[]> grads = new LinkedHashMap<>();
            try (NDManager scope = manager.newSubManager();
                    LlamaDecoder d = LlamaDecoder.of(ckpt, scope)) {
                Map<String, NDArray> params = d.parameters();
                assertEquals(HfCheckpoint.requiredShapes(ckpt.config()).keySet(), params.keySet());
                for (NDArray p : params.values()) p.setRequiresGradient(true);
                try (NDManager step = scope.newSubManager()) {
                    NDArray ids = step.create(flat(IDS), new Shape(IDS.length, IDS[0].length));
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray loss = d.trainingLoss(ids);
                        assertEquals(loss(ckpt, manager), loss.getFloat(), 1e-5, "trainingLoss equals loss");
                        gc.backward(loss);
                    }
                    // read while the step's arrays are alive: a gradient must not be read after its graph was freed
                    for (String name : names)
                        grads.put(name, params.get(name).getGradient().toFloatArray());
                }
            }
            Random pick = new Random(3);
            float eps = 1e-2f;
            int checked = 0;
            for (String name : names) {
                long[] shape = ckpt.tensor(name).shape();
                for (int k = 0; k < 2; k++) {
                    int index = pick.nextInt((int) (shape.length == 1 ? shape[0] : shape[0] * shape[1]));
                    // linear weights are stored transposed (in x out): HF [r][c] is stored at [c][r]
                    int stored = index;
                    if (shape.length == 2 && !name.equals("model.embed_tokens.weight")) {
                        int r = index / (int) shape[1], c = index % (int) shape[1];
                        stored = c * (int) shape[0] + r;
                    }
                    double autograd = grads.get(name)[stored];
                    double numeric = (loss(perturbed(ckpt, name, index, eps), manager)
                                    - loss(perturbed(ckpt, name, index, -eps), manager))
                            / (2 * eps);
                    assertEquals(numeric, autograd, 2e-3 + 0.05 * Math.abs(numeric), name + "[" + index + "]");
                    checked++;
                }
            }
            assertEquals(2 * names.length, checked);
        }
    }

    @Test
    void tinyModelLearnsAndSavesALoadableFolder() throws Exception {
        assumeTrue(
                LmCorpus.isFetched(),
                "LM corpus not in the cache: run scripts/fetch-data.sh (skipping PretrainingTest)");
        LmCorpus corpus = LmCorpus.load();
        Pretraining.Settings s =
                new Pretraining.Settings(384, 32, 2, 4, 2, 88, 32, 8, 60, 0, 1e-2f, 6, 0.0f, 1.0f, 11, 16, 10, 60_000);
        Path out = dir.resolve("tiny");
        List<String> log = new ArrayList<>();
        Pretraining.Result r;
        try (NDManager manager = NDManager.newBaseManager()) {
            r = Pretraining.run(corpus, s, out, manager, log::add);
        }
        log.forEach(System.out::println);
        assertEquals(60, r.steps());
        assertEquals(Pretraining.parameterCount(r.config()), r.parameters());
        assertTrue(r.lastLoss() < r.firstLoss() - 0.5, "loss " + r.firstLoss() + " -> " + r.lastLoss());
        assertTrue(
                Double.isFinite(r.heldOutPerplexity())
                        && r.heldOutPerplexity() < r.config().vocabSize(),
                "held-out perplexity " + r.heldOutPerplexity() + " vs vocab "
                        + r.config().vocabSize());
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        BpeTokenizer tokenizer = BpeTokenizer.load(out.resolve(Pretraining.TOKENIZER_FILE));
        assertEquals(r.config().vocabSize(), tokenizer.vocabSize());

        // the saved folder loads and scores held-out text the same as the run measured
        int[] held = Pretraining.encodeAll(tokenizer, Pretraining.texts(corpus.heldOut(), 15_000));
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder loaded = LlamaDecoder.load(out, manager)) {
            assertEquals(r.config(), loaded.config());
            double again = Pretraining.heldOutLoss(loaded, held, r.heldOutSequences(), s.seqLen());
            assertEquals(r.heldOutLoss(), again, 1e-4);
            // and the logits are those of a second load (deterministic, nothing left over from training)
            try (LlamaDecoder twice = LlamaDecoder.load(out, manager)) {
                long[] ids = new long[s.seqLen()];
                for (int i = 0; i < ids.length; i++) ids[i] = held[i];
                NDArray x = manager.create(ids, new Shape(1, ids.length));
                assertArrayEquals(
                        loaded.forward(x).toFloatArray(), twice.forward(x).toFloatArray(), 0f);
            }
        }
    }
}
