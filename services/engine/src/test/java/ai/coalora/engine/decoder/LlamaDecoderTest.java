package ai.coalora.engine.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.io.Safetensors.Tensor;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DJL forward pass against the plain-Java reference, causality, loss / perplexity, memory scoping, timing. */
class LlamaDecoderTest {
    @TempDir
    Path dir;

    private static long[][] randomIds(int batch, int seq, int vocab, long seed) {
        Random r = new Random(seed);
        long[][] ids = new long[batch][seq];
        for (long[] row : ids) for (int t = 0; t < seq; t++) row[t] = r.nextInt(vocab);
        return ids;
    }

    /** Max |djl - reference| over all logits of the batch. */
    private static double maxDifference(LlamaDecoder decoder, HfCheckpoint ckpt, long[][] ids, NDManager manager) {
        float[] djl;
        try (NDArray logits = decoder.forward(manager.create(ids))) {
            assertEquals(new Shape(ids.length, ids[0].length, decoder.config().vocabSize()), logits.getShape());
            djl = logits.toFloatArray();
        }
        int seq = ids[0].length, vocab = decoder.config().vocabSize();
        double max = 0;
        for (int b = 0; b < ids.length; b++) {
            float[][] ref = LlamaTestModels.referenceLogits(ckpt.config(), ckpt.tensors(), ids[b]);
            for (int t = 0; t < seq; t++) {
                for (int v = 0; v < vocab; v++)
                    max = Math.max(max, Math.abs(djl[(b * seq + t) * vocab + v] - ref[t][v]));
            }
        }
        return max;
    }

    private void matchesReference(LlamaConfig config, HfCheckpoint loaded, String what) {
        long[][] ids = randomIds(3, 19, config.vocabSize(), 5);
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.of(loaded, manager)) {
            double diff = maxDifference(decoder, loaded, ids, manager);
            System.out.printf("%s: max |DJL - reference| logit difference %.3g (3 x 19 tokens)%n", what, diff);
            assertTrue(diff < 1e-4, what + ": max difference " + diff);

            double loss;
            try (NDArray l = decoder.loss(manager.create(ids))) {
                loss = l.getFloat();
            }
            double reference = LlamaTestModels.referenceLoss(config, loaded.tensors(), ids);
            System.out.printf(
                    "%s: loss %.6f (reference %.6f), perplexity %.3f (vocab %d)%n",
                    what, loss, reference, decoder.perplexity(manager.create(ids)), config.vocabSize());
            assertEquals(reference, loss, 1e-4);
            assertEquals(Math.exp(loss), decoder.perplexity(manager.create(ids)), 1e-3 * Math.exp(loss));
        }
    }

    @Test
    void llamaSavedAndLoadedMatchesTheReference() throws Exception {
        LlamaConfig config = LlamaTestModels.tinyLlama();
        new HfCheckpoint(config, LlamaTestModels.randomTensors(config, 1, false)).save(dir);
        matchesReference(config, HfCheckpoint.load(dir), "tiny Llama (F32 model.safetensors)");
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder direct = LlamaDecoder.load(dir, manager)) {
            assertEquals(config, direct.config());
        }
    }

    @Test
    void llamaFromBf16ShardsMatchesTheReference() throws Exception {
        LlamaConfig config = LlamaTestModels.tinyLlama();
        LlamaTestModels.writeBf16Sharded(dir, config, LlamaTestModels.randomTensors(config, 2, true), 3);
        matchesReference(config, HfCheckpoint.load(dir), "tiny Llama (BF16, 3 shards)");
    }

    @Test
    void qwen2WithBiasesAndTiedEmbeddingsMatchesTheReference() throws Exception {
        LlamaConfig config = LlamaTestModels.tinyQwen2();
        assertTrue(config.qkvBias() && config.tieWordEmbeddings() && config.groupSize() == 4);
        LlamaTestModels.writeBf16Sharded(dir, config, LlamaTestModels.randomTensors(config, 3, true), 2);
        HfCheckpoint loaded = HfCheckpoint.load(dir);
        assertTrue(!loaded.tensors().containsKey("lm_head.weight"));
        matchesReference(config, loaded, "tiny Qwen2 (BF16, 2 shards, qkv bias, tied)");
    }

    @Test
    void llamaWithAttentionBiasMatchesTheReference() throws Exception {
        LlamaConfig config =
                new LlamaConfig(LlamaConfig.LLAMA, 50, 32, 48, 1, 2, 2, 16, 1e-6, 500.0, 64, false, true, true);
        new HfCheckpoint(config, LlamaTestModels.randomTensors(config, 4, false)).save(dir);
        HfCheckpoint loaded = HfCheckpoint.load(dir);
        assertTrue(loaded.tensors().containsKey("model.layers.0.self_attn.o_proj.bias"));
        matchesReference(config, loaded, "Llama with attention_bias (q/k/v/o biases, no GQA)");
    }

    @Test
    void fullContextMatchesTheReference() {
        LlamaConfig config = LlamaTestModels.tinyQwen2(); // 256 positions, theta 1e6
        HfCheckpoint ckpt = new HfCheckpoint(config, LlamaTestModels.randomTensors(config, 13, false));
        long[][] ids = randomIds(1, config.maxPositions(), config.vocabSize(), 14);
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.of(ckpt, manager)) {
            double diff = maxDifference(decoder, ckpt, ids, manager);
            System.out.printf(
                    "tiny Qwen2, all %d positions: max |DJL - reference| logit difference %.3g%n",
                    config.maxPositions(), diff);
            assertTrue(diff < 1e-4, "max difference " + diff);
        }
    }

    @Test
    void logitsAtAPositionDoNotDependOnLaterTokens() {
        LlamaConfig config = LlamaTestModels.tinyLlama();
        HfCheckpoint ckpt = new HfCheckpoint(config, LlamaTestModels.randomTensors(config, 6, false));
        long[] a = randomIds(1, 16, config.vocabSize(), 7)[0];
        long[] b = a.clone();
        int changedFrom = 9;
        for (int t = changedFrom; t < b.length; t++) b[t] = (a[t] + 1 + t) % config.vocabSize();
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.of(ckpt, manager)) {
            float[] la = decoder.forward(manager.create(new long[][] {a})).toFloatArray();
            float[] lb = decoder.forward(manager.create(new long[][] {b})).toFloatArray();
            int vocab = config.vocabSize();
            double before = 0, after = 0;
            for (int t = 0; t < a.length; t++) {
                for (int v = 0; v < vocab; v++) {
                    double d = Math.abs(la[t * vocab + v] - lb[t * vocab + v]);
                    if (t < changedFrom) before = Math.max(before, d);
                    else if (t == changedFrom) after = Math.max(after, d);
                }
            }
            System.out.printf(
                    "causal mask: max change before position %d: %.3g; at it: %.3g%n", changedFrom, before, after);
            assertTrue(before < 1e-5, "positions before the change moved by " + before);
            assertTrue(after > 1e-2, "the changed position itself should change, moved by " + after);
        }
    }

    @Test
    void forwardFreesEveryIntermediateAndTakesTheFirstTimings() {
        LlamaConfig config = LlamaTestModels.tinyLlama();
        HfCheckpoint ckpt = new HfCheckpoint(config, LlamaTestModels.randomTensors(config, 8, false));
        try (NDManager base = NDManager.newBaseManager();
                NDManager model = base.newSubManager();
                LlamaDecoder decoder = LlamaDecoder.of(ckpt, model);
                NDManager step = base.newSubManager()) {
            int parameters = ((BaseNDManager) model).getManagedArrays().size();
            NDArray ids = step.create(randomIds(1, 32, config.vocabSize(), 9));
            for (int i = 0; i < 5; i++) decoder.forward(ids).close(); // warm-up
            int runs = 50;
            long start = System.nanoTime();
            for (int i = 0; i < runs; i++) decoder.forward(ids).close();
            double ms = (System.nanoTime() - start) / 1e6 / runs;
            NDArray loss = decoder.loss(ids);
            assertEquals(parameters, ((BaseNDManager) model).getManagedArrays().size(), "the decoder's manager grew");
            assertEquals(
                    2,
                    ((BaseNDManager) step).getManagedArrays().size(),
                    "only ids and the loss should remain here: " + ((BaseNDManager) step).getManagedArrays());
            long[] row = randomIds(1, 32, config.vocabSize(), 9)[0];
            long refStart = System.nanoTime();
            for (int i = 0; i < 5; i++) LlamaTestModels.referenceLogits(config, ckpt.tensors(), row);
            double refMs = (System.nanoTime() - refStart) / 1e6 / 5;
            NDArray batch = step.create(randomIds(8, 128, config.vocabSize(), 10));
            decoder.forward(batch).close();
            long batchStart = System.nanoTime();
            for (int i = 0; i < 5; i++) decoder.forward(batch).close();
            double batchMs = (System.nanoTime() - batchStart) / 1e6 / 5;
            System.out.printf(
                    "tiny Llama (hidden 64, 2 layers, vocab 97) forward on CPU: 1 x 32 tokens %.2f ms (mean of %d;"
                            + " plain-Java reference %.2f ms), 8 x 128 tokens %.2f ms (mean of 5)%n",
                    ms, runs, refMs, batchMs);
            batch.close();
            loss.close();
        }
    }

    @Test
    void rejectsBadIds() {
        LlamaConfig config = LlamaTestModels.tinyLlama();
        HfCheckpoint ckpt = new HfCheckpoint(config, LlamaTestModels.randomTensors(config, 10, false));
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.of(ckpt, manager)) {
            assertTrue(assertThrows(
                            IllegalArgumentException.class,
                            () -> decoder.forward(manager.create(new long[][] {{1, 97}})))
                    .getMessage()
                    .contains("97"));
            assertTrue(assertThrows(
                            IllegalArgumentException.class, () -> decoder.forward(manager.create(new int[][] {{1, 2}})))
                    .getMessage()
                    .contains("int64"));
            assertThrows(IllegalArgumentException.class, () -> decoder.forward(manager.create(new long[1][129])));
            assertThrows(IllegalArgumentException.class, () -> decoder.loss(manager.create(new long[][] {{3}})));
        }
    }

    @Test
    void saveLoadRoundTripIsExact() throws Exception {
        for (LlamaConfig config : new LlamaConfig[] {LlamaTestModels.tinyLlama(), LlamaTestModels.tinyQwen2()}) {
            Map<String, Tensor> tensors = LlamaTestModels.randomTensors(config, 11, false);
            Path d = dir.resolve(config.architecture());
            new HfCheckpoint(config, tensors).save(d);
            HfCheckpoint loaded = HfCheckpoint.load(d);
            assertEquals(config, loaded.config());
            assertEquals(tensors, loaded.tensors());
        }
    }

    @Test
    void bf16ShardsWidenExactly() throws Exception {
        LlamaConfig config = LlamaTestModels.tinyLlama();
        Map<String, Tensor> tensors = LlamaTestModels.randomTensors(config, 12, true);
        LlamaTestModels.writeBf16Sharded(dir, config, tensors, 4);
        HfCheckpoint loaded = HfCheckpoint.load(dir);
        assertEquals(tensors, loaded.tensors()); // bfloat16 values widen to the same floats, bit for bit
        // and saving that again gives one F32 file that loads to the same
        Path resaved = dir.resolve("resaved");
        loaded.save(resaved);
        assertEquals(tensors, HfCheckpoint.load(resaved).tensors());
    }
}
