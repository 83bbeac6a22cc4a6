package ai.coalora.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.gguf.GgufLoraFile.Pair;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A decoder quantized by a configuration, as llama.cpp's GGUF, its LoRA, and the way back. */
class GgufDecoderExportTest {
    @TempDir
    Path dir;

    private static final String TEXT = String.join(
            "\n",
            "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,",
            "and nothing particular to interest me on shore, I thought I would sail about a little and see the",
            "watery part of the world. It is a way I have of driving off the spleen and regulating the circulation.");
    static final BpeTokenizer TOKENIZER =
            BpeTokenizer.train(List.of(TEXT, TEXT.toUpperCase()), 300, List.of(Pretraining.END_OF_TEXT));

    /**
     * hidden 256, 4 query heads of width 40 sharing 2 kv heads, intermediate 72: ggml rows (in features) of 256
     * (q, k, v, gate, up: K-quants fit), 160 (o_proj: only the 32-weight types fit) and 72 (down_proj: only F16 fits).
     */
    static LlamaConfig llama(int vocab) {
        return new LlamaConfig(LlamaConfig.LLAMA, vocab, 256, 72, 2, 4, 2, 40, 1e-5, 10000.0, 64, false, false, false);
    }

    /** Qwen2: q/k/v biases, tied embeddings, 4 heads on 1 kv head. */
    static LlamaConfig qwen2(int vocab) {
        return LlamaConfig.qwen2(vocab, 256, 96, 1, 4, 1, 1e-6, 1_000_000.0, 64, true);
    }

    static HfCheckpoint randomCheckpoint(LlamaConfig c, long seed) {
        Random random = new Random(seed);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : HfCheckpoint.requiredShapes(c).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            float[] v = new float[(int) (shape[0] * (shape.length == 2 ? shape[1] : 1))];
            for (int i = 0; i < v.length; i++) {
                double g = random.nextGaussian();
                if (name.endsWith("norm.weight")) v[i] = (float) (1 + 0.1 * g);
                else if (name.endsWith(".bias")) v[i] = (float) (0.1 * g);
                else if (name.equals("model.embed_tokens.weight")) v[i] = (float) (0.5 * g);
                else v[i] = (float) (0.8 * g / Math.sqrt(shape[1]));
            }
            tensors.put(name, Tensor.ofFloats(v, shape));
        }
        return new HfCheckpoint(c, tensors);
    }

    /** Weight bits 2, 3, 4, 8 in turn over the quantizable matrices. */
    static ModelQuantConfig mixed(LlamaConfig c) {
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        List<MatrixSpec> specs = LlamaTensorNames.quantizableMatrices(c);
        for (int i = 0; i < specs.size(); i++) {
            entries.add(new ModelQuantConfig.Entry(
                    specs.get(i), QuantConfig.integerOnly(QuantConfig.WEIGHT_BITS.get(i % 4))));
        }
        return new ModelQuantConfig(QuantizerKind.NF, entries);
    }

    static ModelQuantConfig uniform(LlamaConfig c, int b) {
        return ModelQuantConfig.uniform(
                LlamaTensorNames.quantizableMatrices(c), QuantConfig.integerOnly(b), QuantizerKind.NF);
    }

    /** The checkpoint with every tensor quantized and dequantized in Java with the type the export gives it. */
    static HfCheckpoint javaQuantized(HfCheckpoint original, Map<String, GgufType> types) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : original.tensors().entrySet()) {
            GgufType type = types.get(e.getKey());
            out.put(
                    e.getKey(),
                    Tensor.ofFloats(
                            type.dequantize(type.quantize(e.getValue().floats())),
                            e.getValue().shape()));
        }
        return new HfCheckpoint(original.config(), out);
    }

    static long[][] ids(int vocab) {
        Random r = new Random(11);
        long[][] ids = new long[2][17];
        for (long[] row : ids) for (int t = 0; t < row.length; t++) row[t] = r.nextInt(vocab);
        return ids;
    }

    static float[] logits(HfCheckpoint checkpoint, long[][] ids) {
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.of(checkpoint, manager);
                NDArray logits = decoder.forward(manager.create(ids))) {
            return logits.toFloatArray();
        }
    }

    static double maxAbsDifference(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
        return max;
    }

    static float[] difference(float[] a, float[] b) {
        float[] d = new float[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i] - b[i];
        return d;
    }

    static double rms(float[] a) {
        double sum = 0;
        for (float f : a) sum += (double) f * f;
        return Math.sqrt(sum / a.length);
    }

    static double maxAbs(float[] a) {
        double max = 0;
        for (float f : a) max = Math.max(max, Math.abs(f));
        return max;
    }

    // ---------------------------------------------------------------- the model

    @Test
    void eightBitExportKeepsTheLogits() throws Exception {
        LlamaConfig c = llama(TOKENIZER.vocabSize());
        HfCheckpoint original = randomCheckpoint(c, 1);
        Path file = dir.resolve("q8.gguf");
        GgufDecoderExport.export(original, TOKENIZER, uniform(c, 8), GgufTypeMapping.K_QUANTS, file);
        HfCheckpoint back = GgufDecoderExport.read(file);
        assertEquals(c, back.config());

        long[][] ids = ids(c.vocabSize());
        float[] expected = logits(original, ids), actual = logits(back, ids);
        double diff = maxAbsDifference(expected, actual), relative = diff / maxAbs(expected);
        double rmsRelative = rms(difference(expected, actual)) / rms(expected);
        System.out.printf(
                "Llama, all 8-bit (Q8_0; down_proj F16, embeddings F16): max |logit difference| %.3g = %.2f%% of max |logit| %.3g; "
                        + "RMS difference %.2f%% of RMS logit%n",
                diff, 100 * relative, maxAbs(expected), 100 * rmsRelative);
        // Q8_0 rounds each weight to a step of 1/127 of its 32-weight block's absmax (~0.5% relative noise per matrix);
        // measured: 0.98% of the largest logit, 0.86% RMS (14 matrices, F16 embeddings and head)
        assertTrue(relative < 0.03, "8-bit export moved the logits by " + 100 * relative + "% of the largest logit");
        assertTrue(rmsRelative < 0.02, "8-bit export moved the logits by " + 100 * rmsRelative + "% RMS");
        // and it is exactly the model quantized in Java
        HfCheckpoint reference =
                javaQuantized(original, GgufDecoderExport.tensorTypes(c, uniform(c, 8), GgufTypeMapping.K_QUANTS));
        assertEquals(0.0, maxAbsDifference(logits(reference, ids), actual));
    }

    @Test
    void mixedExportIsExactlyTheJavaQuantizedModel() throws Exception {
        LlamaConfig c = llama(TOKENIZER.vocabSize());
        HfCheckpoint original = randomCheckpoint(c, 2);
        ModelQuantConfig config = mixed(c);
        Path file = dir.resolve("mixed.gguf");
        GgufDecoderExport.export(original, TOKENIZER, config, GgufTypeMapping.K_QUANTS, file);
        GgufFile gguf = GgufReader.read(file);

        // every tensor has exactly the mapping's type (embeddings F16, norms F32)
        Set<GgufType> seen = EnumSet.noneOf(GgufType.class);
        for (ModelQuantConfig.Entry e : config.matrices()) {
            GgufType type =
                    gguf.tensor(LlamaTensorNames.toGguf(e.matrix().name())).type();
            assertEquals(
                    GgufTypeMapping.K_QUANTS.typeFor(e.matrix(), e.config()),
                    type,
                    e.matrix().name());
            seen.add(type);
        }
        assertEquals(
                EnumSet.of(GgufType.Q2_K, GgufType.Q3_K, GgufType.Q4_K, GgufType.Q8_0, GgufType.Q4_0, GgufType.F16),
                seen,
                "the tiny model should exercise every K-quant and both fallbacks");
        assertEquals(GgufType.F16, gguf.tensor("token_embd.weight").type());
        assertEquals(GgufType.F16, gguf.tensor("output.weight").type());
        assertEquals(GgufType.F32, gguf.tensor("blk.1.ffn_norm.weight").type());
        assertEquals(GgufType.F32, gguf.tensor("output_norm.weight").type());
        assertEquals(HfCheckpoint.requiredShapes(c).size(), gguf.tensors().size());

        // what we read back is, bit for bit, the original quantized and dequantized in Java
        HfCheckpoint reference =
                javaQuantized(original, GgufDecoderExport.tensorTypes(c, config, GgufTypeMapping.K_QUANTS));
        HfCheckpoint back = GgufDecoderExport.read(file);
        for (String name : reference.tensors().keySet())
            assertArrayEquals(reference.floats(name), back.floats(name), name);
        long[][] ids = ids(c.vocabSize());
        float[] expected = logits(reference, ids);
        double diff = maxAbsDifference(expected, logits(back, ids));
        double quantizationEffect = maxAbsDifference(logits(original, ids), expected);
        System.out.printf(
                "Llama, mixed 2/3/4/8 bits (%.3f configured, %.3f GGUF bits/weight): read-back vs Java-quantized logits %.3g; "
                        + "quantized vs original %.3g%n",
                config.averageBits(), GgufTypeMapping.K_QUANTS.bitsPerWeight(config), diff, quantizationEffect);
        assertEquals(0.0, diff);

        // in the file, q and k rows are interleaved per head, with 4 query heads and 2 kv heads
        String q = "model.layers.1.self_attn.q_proj.weight", k = "model.layers.1.self_attn.k_proj.weight";
        assertArrayEquals(
                RopeLayout.halvesToInterleaved(reference.floats(q), c.queryWidth(), c.hiddenSize(), c.numHeads()),
                gguf.tensor("blk.1.attn_q.weight").dequantize());
        assertArrayEquals(
                RopeLayout.halvesToInterleaved(
                        reference.floats(k), c.keyValueWidth(), c.hiddenSize(), c.numKeyValueHeads()),
                gguf.tensor("blk.1.attn_k.weight").dequantize());
        assertArrayEquals(
                reference.floats("model.layers.1.self_attn.v_proj.weight"),
                gguf.tensor("blk.1.attn_v.weight").dequantize());
    }

    @Test
    void legacyMappingUsesOnlyQ4_0Q8_0AndF16() throws Exception {
        LlamaConfig c = llama(TOKENIZER.vocabSize());
        ModelQuantConfig config = mixed(c);
        GgufFile gguf = GgufDecoderExport.toGguf(randomCheckpoint(c, 3), TOKENIZER, config, GgufTypeMapping.LEGACY);
        for (ModelQuantConfig.Entry e : config.matrices()) {
            GgufType type =
                    gguf.tensor(LlamaTensorNames.toGguf(e.matrix().name())).type();
            assertEquals(GgufTypeMapping.LEGACY.typeFor(e.matrix(), e.config()), type);
            assertTrue(Set.of(GgufType.Q4_0, GgufType.Q8_0, GgufType.F16).contains(type), type.toString());
        }
        assertEquals("LEGACY", gguf.get(GgufDecoderExport.MAPPING_KEY).asString());
    }

    @Test
    void qwen2KeepsHfRowOrderBiasesAndTiedEmbeddings() throws Exception {
        LlamaConfig c = qwen2(TOKENIZER.vocabSize());
        HfCheckpoint original = randomCheckpoint(c, 4);
        ModelQuantConfig config = mixed(c);
        Path file = dir.resolve("qwen2.gguf");
        GgufDecoderExport.export(original, TOKENIZER, config, GgufTypeMapping.K_QUANTS, file);
        GgufFile gguf = GgufReader.read(file);
        assertEquals("qwen2", gguf.get("general.architecture").asString());
        assertEquals(4L, gguf.get("qwen2.attention.head_count").asLong());
        assertEquals(1L, gguf.get("qwen2.attention.head_count_kv").asLong());
        assertFalse(gguf.metadata().containsKey("llama.block_count"));
        assertThrows(IllegalArgumentException.class, () -> gguf.tensor("output.weight"));
        assertEquals(GgufType.F32, gguf.tensor("blk.0.attn_k.bias").type());

        HfCheckpoint reference =
                javaQuantized(original, GgufDecoderExport.tensorTypes(c, config, GgufTypeMapping.K_QUANTS));
        // NeoX rotary in llama.cpp: q, k and their biases stay in HF's order
        assertArrayEquals(
                reference.floats("model.layers.0.self_attn.q_proj.weight"),
                gguf.tensor("blk.0.attn_q.weight").dequantize());
        assertArrayEquals(
                reference.floats("model.layers.0.self_attn.k_proj.bias"),
                gguf.tensor("blk.0.attn_k.bias").dequantize());

        HfCheckpoint back = GgufDecoderExport.read(file);
        assertEquals(c, back.config());
        long[][] ids = ids(c.vocabSize());
        double diff = maxAbsDifference(logits(reference, ids), logits(back, ids));
        System.out.printf("Qwen2 (biases, tied), mixed bits: read-back vs Java-quantized logits %.3g%n", diff);
        assertEquals(0.0, diff);
    }

    @Test
    void metadataDescribesModelTokenizerAndConfiguration() throws Exception {
        int padding = 3;
        LlamaConfig c = llama(TOKENIZER.vocabSize() + padding);
        ModelQuantConfig config = mixed(c);
        GgufFile gguf = GgufDecoderExport.toGguf(randomCheckpoint(c, 5), TOKENIZER, config, GgufTypeMapping.K_QUANTS);

        assertEquals("llama", gguf.get("general.architecture").asString());
        assertTrue(gguf.get("general.name").asString().startsWith("CoA-LoRA llama"));
        assertEquals(2L, gguf.get("general.quantization_version").asLong());
        // the type holding most quantized weights, as llama_ftype
        assertEquals(
                GgufDecoderExport.fileType(GgufDecoderExport.mostlyType(config, GgufTypeMapping.K_QUANTS)),
                gguf.get("general.file_type").asLong());
        Map<String, Long> counts = Map.of(
                "llama.context_length",
                64L,
                "llama.embedding_length",
                256L,
                "llama.block_count",
                2L,
                "llama.feed_forward_length",
                72L,
                "llama.attention.head_count",
                4L,
                "llama.attention.head_count_kv",
                2L,
                "llama.vocab_size",
                (long) c.vocabSize(),
                "llama.rope.dimension_count",
                40L,
                "llama.attention.key_length",
                40L);
        for (Map.Entry<String, Long> e : counts.entrySet()) {
            assertEquals(GgufValue.Kind.UINT32, gguf.get(e.getKey()).kind(), e.getKey());
            assertEquals(e.getValue(), gguf.get(e.getKey()).asLong(), e.getKey());
        }
        assertEquals(10000f, gguf.get("llama.rope.freq_base").asFloat());
        assertEquals(1e-5f, gguf.get("llama.attention.layer_norm_rms_epsilon").asFloat());

        assertEquals("gpt2", gguf.get("tokenizer.ggml.model").asString());
        assertEquals("gpt-2", gguf.get("tokenizer.ggml.pre").asString());
        List<?> tokens = gguf.get("tokenizer.ggml.tokens").asList(),
                types = gguf.get("tokenizer.ggml.token_type").asList();
        assertEquals(c.vocabSize(), tokens.size());
        assertEquals(c.vocabSize(), types.size());
        int eot = TOKENIZER.id(Pretraining.END_OF_TEXT);
        for (int id = 0; id < TOKENIZER.vocabSize(); id++) {
            assertEquals(TOKENIZER.token(id), tokens.get(id));
            assertEquals(id == eot ? GgufDecoderExport.TOKEN_CONTROL : GgufDecoderExport.TOKEN_NORMAL, types.get(id));
        }
        for (int id = TOKENIZER.vocabSize(); id < c.vocabSize(); id++) {
            assertEquals("[PAD" + id + "]", tokens.get(id));
            assertEquals(GgufDecoderExport.TOKEN_UNUSED, types.get(id));
        }
        assertEquals(TOKENIZER.merges(), gguf.get("tokenizer.ggml.merges").asList());
        assertTrue(TOKENIZER.merges().size() > 10);
        assertEquals(eot, gguf.get("tokenizer.ggml.eos_token_id").asLong());
        assertEquals(eot, gguf.get("tokenizer.ggml.bos_token_id").asLong());
        assertFalse(gguf.get("tokenizer.ggml.add_bos_token").asBoolean());

        assertEquals(config.averageBits(), gguf.get("coalora.average_bits").asDouble());
        assertEquals(
                GgufTypeMapping.K_QUANTS.bitsPerWeight(config),
                gguf.get("coalora.gguf_bits_per_weight").asDouble());
        assertEquals("K_QUANTS", gguf.get("coalora.mapping").asString());
        assertEquals(config.configId(), gguf.get("coalora.config_id").asString());
        assertEquals(
                config,
                ModelQuantConfig.fromJson(gguf.get("coalora.quant_config").asString()));

        // the whole file survives writing and reading, and its config is the model's
        GgufFile back = GgufReader.fromBytes(GgufWriter.toBytes(gguf));
        assertEquals(gguf, back);
        assertEquals(c, GgufDecoderExport.config(back));
    }

    // ---------------------------------------------------------------- the rotary layout

    @Test
    void ropeLayoutIsLlamaCppsPermutation() {
        // one head of width 8: HF pairs rows (0,4) (1,5) (2,6) (3,7); llama.cpp wants them adjacent
        float[] rows = {0, 1, 2, 3, 4, 5, 6, 7};
        assertArrayEquals(new float[] {0, 4, 1, 5, 2, 6, 3, 7}, RopeLayout.halvesToInterleaved(rows, 8, 1, 1));
        // two heads of width 4: per head (0,2) (1,3)  — convert_hf_to_gguf's reshape(2, 2, 2).swapaxes(1, 2)
        assertArrayEquals(new float[] {0, 2, 1, 3, 4, 6, 5, 7}, RopeLayout.halvesToInterleaved(rows, 8, 1, 2));
        // whole rows move: a 4 x 2 matrix, one head
        assertArrayEquals(new float[] {0, 1, 4, 5, 2, 3, 6, 7}, RopeLayout.halvesToInterleaved(rows, 4, 2, 1));

        float[] m = GgufTypeTest.gaussian(12 * 5, 3);
        assertArrayEquals(m, RopeLayout.interleavedToHalves(RopeLayout.halvesToInterleaved(m, 12, 5, 3), 12, 5, 3));
        assertArrayEquals(m, RopeLayout.halvesToInterleaved(RopeLayout.interleavedToHalves(m, 12, 5, 3), 12, 5, 3));
        assertThrows(
                IllegalArgumentException.class, () -> RopeLayout.halvesToInterleaved(m, 12, 5, 5)); // 12 rows, 5 heads
        assertThrows(
                IllegalArgumentException.class, () -> RopeLayout.halvesToInterleaved(m, 12, 5, 4)); // odd head width 3
    }

    /** HF's rotate_half RoPE on HF rows, then reordered, equals ggml's normal (adjacent pairs) RoPE on reordered rows. */
    @Test
    void interleavedRowsUnderPairRopeEqualHfRowsUnderHalfRope() {
        int d = 16, heads = 3;
        double theta = 10000;
        float[] q = GgufTypeTest.gaussian(heads * d, 7); // one token's query, all heads
        for (int pos : new int[] {0, 1, 5, 63}) {
            float[] hf = new float[q.length], ggml = new float[q.length];
            float[] permuted = RopeLayout.halvesToInterleaved(q, heads * d, 1, heads);
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < d / 2; i++) {
                    double angle = pos * Math.pow(theta, -2.0 * i / d), cos = Math.cos(angle), sin = Math.sin(angle);
                    int a = h * d + i, b = h * d + i + d / 2; // HF: rotate_half pairs i with i + d/2
                    hf[a] = (float) (q[a] * cos - q[b] * sin);
                    hf[b] = (float) (q[b] * cos + q[a] * sin);
                    int x = h * d + 2 * i, y = x + 1; // ggml GGML_ROPE_TYPE_NORM: pairs 2i, 2i+1
                    ggml[x] = (float) (permuted[x] * cos - permuted[y] * sin);
                    ggml[y] = (float) (permuted[x] * sin + permuted[y] * cos);
                }
            }
            assertArrayEquals(RopeLayout.halvesToInterleaved(hf, heads * d, 1, heads), ggml, 1e-6f, "position " + pos);
        }
    }

    // ---------------------------------------------------------------- the adapter

    @Test
    void loraIsStoredInLlamaCppsLayoutConsistentlyWithTheBase() throws Exception {
        LlamaConfig c = llama(TOKENIZER.vocabSize());
        HfCheckpoint original = randomCheckpoint(c, 6);
        ModelQuantConfig config = mixed(c);
        int rank = 4;
        float alpha = 8;
        Map<String, Pair> adapters = new LinkedHashMap<>();
        long seed = 100;
        for (MatrixSpec m : LlamaTensorNames.quantizableMatrices(c)) {
            adapters.put(
                    m.name(),
                    new Pair(
                            m.rows(),
                            m.cols(),
                            rank,
                            GgufTypeTest.gaussian(rank * m.cols(), seed++),
                            GgufTypeTest.gaussian(m.rows() * rank, seed++)));
        }
        Path base = dir.resolve("base.gguf"), adapter = dir.resolve("adapter.gguf");
        GgufDecoderExport.export(original, TOKENIZER, config, GgufTypeMapping.K_QUANTS, base);
        GgufDecoderExport.exportLora(c, config, adapters, alpha, adapter);

        GgufLoraFile lora = GgufLoraFile.read(adapter);
        assertEquals("llama", lora.architecture());
        assertEquals(alpha, lora.alpha());
        assertEquals(
                config.configId(), lora.extraMetadata().get("coalora.config_id").asString());
        assertEquals(adapters.size(), lora.pairs().size());
        assertTrue(
                lora.pairs().containsKey("blk.1.attn_q.weight") && lora.pairs().containsKey("blk.0.ffn_down.weight"));

        float scale = alpha / rank;
        double worst = 0;
        for (Map.Entry<String, Pair> e : adapters.entrySet()) {
            String hf = e.getKey(), gguf = LlamaTensorNames.toGguf(hf);
            Pair in = e.getValue();
            assertEquals(scale, lora.scale(gguf));
            int heads = hf.contains("q_proj") ? c.numHeads() : hf.contains("k_proj") ? c.numKeyValueHeads() : 0;
            float[] stored = lora.pairs().get(gguf).delta(lora.scale(gguf));
            float[] unpermuted = heads > 0 ? RopeLayout.interleavedToHalves(stored, in.out(), in.in(), heads) : stored;
            float[] expected = in.delta(scale);
            worst = Math.max(worst, maxAbsDifference(expected, unpermuted));
            assertArrayEquals(expected, unpermuted, hf);
        }
        assertEquals(adapters, GgufDecoderExport.loraPairs(lora, c));

        // base + adapter in llama.cpp's layout = (Java-quantized base + s B A) in HF's layout, reordered
        GgufFile baseFile = GgufReader.read(base);
        HfCheckpoint reference =
                javaQuantized(original, GgufDecoderExport.tensorTypes(c, config, GgufTypeMapping.K_QUANTS));
        double merged = 0;
        for (String hf : List.of("model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight")) {
            String gguf = LlamaTensorNames.toGguf(hf);
            Pair in = adapters.get(hf);
            int heads = hf.contains("q_proj") ? c.numHeads() : c.numKeyValueHeads();
            float[] hfMerged = add(reference.floats(hf), in.delta(scale));
            float[] ggufMerged = add(
                    baseFile.tensor(gguf).dequantize(), lora.pairs().get(gguf).delta(lora.scale(gguf)));
            merged = Math.max(
                    merged,
                    maxAbsDifference(RopeLayout.halvesToInterleaved(hfMerged, in.out(), in.in(), heads), ggufMerged));
        }
        System.out.printf(
                "LoRA: un-reordered delta vs s*B*A max difference %.3g; merged q/k in llama.cpp layout vs HF merged %.3g%n",
                worst, merged);
        assertEquals(0.0, merged);
    }

    private static float[] add(float[] a, float[] b) {
        float[] out = a.clone();
        for (int i = 0; i < out.length; i++) out[i] += b[i];
        return out;
    }

    // ---------------------------------------------------------------- bad input

    @Test
    void badInputIsRejectedNamingTheProblem() {
        LlamaConfig c = llama(TOKENIZER.vocabSize());
        HfCheckpoint checkpoint = randomCheckpoint(c, 8);
        List<ModelQuantConfig.Entry> good = mixed(c).matrices();
        QuantConfig four = QuantConfig.integerOnly(4);

        String absent = "model.layers.7.mlp.up_proj.weight";
        assertMessageNames(
                absent,
                () -> export(
                        checkpoint, with(good, new ModelQuantConfig.Entry(new MatrixSpec(absent, 72, 256), four))));

        String up = "model.layers.1.mlp.up_proj.weight";
        List<ModelQuantConfig.Entry> misShaped = new ArrayList<>(good);
        misShaped.replaceAll(
                e -> e.matrix().name().equals(up) ? new ModelQuantConfig.Entry(new MatrixSpec(up, 256, 72), four) : e);
        assertMessageNames(up, () -> export(checkpoint, misShaped));

        List<ModelQuantConfig.Entry> partial = new ArrayList<>(good);
        partial.removeIf(e -> e.matrix().name().equals(up));
        assertMessageNames(up, () -> export(checkpoint, partial));

        assertMessageNames(
                "model.norm.weight",
                () -> export(
                        checkpoint,
                        with(good, new ModelQuantConfig.Entry(new MatrixSpec("model.norm.weight", 256, 1), four))));

        String q = "model.layers.0.self_attn.q_proj.weight";
        assertMessageNames(
                q,
                () -> GgufDecoderExport.toLora(
                        c, mixed(c), Map.of(q, new Pair(160, 255, 2, new float[510], new float[320])), 4f));
        assertMessageNames(
                "model.norm.weight",
                () -> GgufDecoderExport.toLora(
                        c,
                        mixed(c),
                        Map.of("model.norm.weight", new Pair(256, 1, 1, new float[1], new float[256])),
                        4f));

        assertMessageNames(
                "vocab_size",
                () -> GgufDecoderExport.toGguf(
                        randomCheckpoint(llama(260), 9), TOKENIZER, mixed(llama(260)), GgufTypeMapping.K_QUANTS));

        assertMessageNames("MistralForCausalLM", () -> GgufDecoderExport.ggufArchitecture("MistralForCausalLM"));
        GgufFile written = GgufDecoderExport.toGguf(checkpoint, TOKENIZER, mixed(c), GgufTypeMapping.K_QUANTS);
        GgufFile gpt2 = written.with(Map.of("general.architecture", GgufValue.string("gpt2")));
        assertMessageNames("'gpt2'", () -> GgufDecoderExport.fromGguf(gpt2));
    }

    private static List<ModelQuantConfig.Entry> with(
            List<ModelQuantConfig.Entry> entries, ModelQuantConfig.Entry extra) {
        List<ModelQuantConfig.Entry> out = new ArrayList<>(entries);
        out.add(extra);
        return out;
    }

    private static void export(HfCheckpoint checkpoint, List<ModelQuantConfig.Entry> entries) {
        GgufDecoderExport.toGguf(
                checkpoint, TOKENIZER, new ModelQuantConfig(QuantizerKind.NF, entries), GgufTypeMapping.K_QUANTS);
    }

    private static void assertMessageNames(String expected, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), "message should name " + expected + ": " + e.getMessage());
    }
}
