package ai.coalora.engine.decoder;

import ai.coalora.engine.io.Safetensors.Tensor;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Tiny random decoders, a BF16 sharded writer, and a plain-Java reference forward pass written straight from
 * the math (float arrays and loops, double accumulators; no DJL, nothing shared with {@link LlamaDecoder}).
 */
final class LlamaTestModels {
    private LlamaTestModels() {}

    /** hidden 64, 2 layers, 4 heads, 2 kv heads, vocab 97, intermediate 160, untied. */
    static LlamaConfig tinyLlama() {
        return LlamaConfig.llama(97, 64, 160, 2, 4, 2, 1e-5, 10000.0, 128, false);
    }

    /** Qwen2-style: q/k/v biases, tied embeddings, 4 heads sharing 1 kv head, rope_theta 1e6. */
    static LlamaConfig tinyQwen2() {
        return LlamaConfig.qwen2(101, 64, 128, 2, 4, 1, 1e-6, 1_000_000.0, 256, true);
    }

    /** Random tensors for every required name; rounded to bfloat16 values when {@code bf16Exact}, so BF16 storage is lossless. */
    static Map<String, Tensor> randomTensors(LlamaConfig c, long seed, boolean bf16Exact) {
        Random random = new Random(seed);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : HfCheckpoint.requiredShapes(c).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            int n = (int) Arrays.stream(shape).reduce(1, Math::multiplyExact);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                double g = random.nextGaussian();
                if (name.endsWith("norm.weight")) v[i] = (float) (1 + 0.1 * g);
                else if (name.endsWith(".bias")) v[i] = (float) (0.1 * g);
                else if (name.equals("model.embed_tokens.weight")) v[i] = (float) (0.5 * g);
                else v[i] = (float) (0.8 * g / Math.sqrt(shape[1]));
                if (bf16Exact) v[i] = roundToBf16(v[i]);
            }
            tensors.put(name, Tensor.ofFloats(v, shape));
        }
        return tensors;
    }

    static float roundToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        bits += 0x7fff + ((bits >>> 16) & 1); // round to nearest even (finite values only)
        return Float.intBitsToFloat(bits & 0xffff0000);
    }

    /**
     * Writes {@code dir} the way transformers saves a bfloat16 model in shards: config.json,
     * model-0000N-of-0000M.safetensors with BF16 tensors (bytes assembled here, not by our writer), and
     * model.safetensors.index.json with its weight_map.
     */
    static void writeBf16Sharded(Path dir, LlamaConfig config, Map<String, Tensor> tensors, int shards)
            throws IOException {
        Files.createDirectories(dir);
        config.write(dir.resolve("config.json"));
        List<String> names = new ArrayList<>(tensors.keySet());
        JsonMapper json = JsonMapper.builder().build();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", names.size());
        ObjectNode weightMap = index.putObject("weight_map");
        for (int s = 0; s < shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            ObjectNode header = json.createObjectNode();
            header.putObject("__metadata__").put("format", "pt");
            List<byte[]> blobs = new ArrayList<>();
            long offset = 0;
            for (int i = s; i < names.size(); i += shards) { // round robin, so every shard holds some of each layer
                Tensor t = tensors.get(names.get(i));
                float[] v = t.floats();
                ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) b.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
                ObjectNode info = header.putObject(names.get(i));
                info.put("dtype", "BF16");
                var shape = info.putArray("shape");
                for (long d : t.shape()) shape.add(d);
                info.putArray("data_offsets").add(offset).add(offset + v.length * 2L);
                offset += v.length * 2L;
                blobs.add(b.array());
                weightMap.put(names.get(i), file);
            }
            byte[] h = json.writeValueAsBytes(header);
            int padded = (h.length + 7) / 8 * 8;
            ByteBuffer out = ByteBuffer.allocate((int) (8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(padded).put(h);
            while (out.position() < 8 + padded) out.put((byte) ' ');
            for (byte[] blob : blobs) out.put(blob);
            Files.write(dir.resolve(file), out.array());
        }
        Files.writeString(
                dir.resolve("model.safetensors.index.json"), json.writeValueAsString(index), StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- reference forward pass, plain Java

    /** Logits [seq][vocab] of one sequence. */
    static float[][] referenceLogits(LlamaConfig c, Map<String, Tensor> tensors, long[] ids) {
        int seq = ids.length, h = c.hiddenSize(), d = c.headDim(), nh = c.numHeads(), nkv = c.numKeyValueHeads();
        float[] embed = tensors.get("model.embed_tokens.weight").floats();
        float[][] x = new float[seq][h];
        for (int t = 0; t < seq; t++) System.arraycopy(embed, (int) ids[t] * h, x[t], 0, h);

        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            float[][] a = rmsNorm(x, w(tensors, p + "input_layernorm.weight"), c.rmsNormEps());
            float[][] q =
                    linear(a, w(tensors, p + "self_attn.q_proj.weight"), bias(tensors, p + "self_attn.q_proj.bias"));
            float[][] k =
                    linear(a, w(tensors, p + "self_attn.k_proj.weight"), bias(tensors, p + "self_attn.k_proj.bias"));
            float[][] v =
                    linear(a, w(tensors, p + "self_attn.v_proj.weight"), bias(tensors, p + "self_attn.v_proj.bias"));
            rotate(q, nh, d, c.ropeTheta());
            rotate(k, nkv, d, c.ropeTheta());

            float[][] context = new float[seq][nh * d];
            int group = nh / nkv;
            for (int head = 0; head < nh; head++) {
                int kvHead = head / group;
                for (int t = 0; t < seq; t++) {
                    double[] score = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) { // causal: keys up to and including t
                        double dot = 0;
                        for (int i = 0; i < d; i++) dot += (double) q[t][head * d + i] * k[s][kvHead * d + i];
                        score[s] = dot / Math.sqrt(d);
                        max = Math.max(max, score[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= t; s++) sum += score[s] = Math.exp(score[s] - max);
                    for (int i = 0; i < d; i++) {
                        double acc = 0;
                        for (int s = 0; s <= t; s++) acc += score[s] / sum * v[s][kvHead * d + i];
                        context[t][head * d + i] = (float) acc;
                    }
                }
            }
            add(
                    x,
                    linear(
                            context,
                            w(tensors, p + "self_attn.o_proj.weight"),
                            bias(tensors, p + "self_attn.o_proj.bias")));

            float[][] m = rmsNorm(x, w(tensors, p + "post_attention_layernorm.weight"), c.rmsNormEps());
            float[][] gate = linear(m, w(tensors, p + "mlp.gate_proj.weight"), null);
            float[][] up = linear(m, w(tensors, p + "mlp.up_proj.weight"), null);
            for (int t = 0; t < seq; t++) {
                for (int j = 0; j < gate[t].length; j++) {
                    double g = gate[t][j];
                    gate[t][j] = (float) (g / (1 + Math.exp(-g)) * up[t][j]);
                }
            }
            add(x, linear(gate, w(tensors, p + "mlp.down_proj.weight"), null));
        }
        float[][] out = rmsNorm(x, w(tensors, "model.norm.weight"), c.rmsNormEps());
        Tensor head = c.tieWordEmbeddings() ? tensors.get("model.embed_tokens.weight") : tensors.get("lm_head.weight");
        return linear(out, head, null);
    }

    /** Mean next-token cross entropy over the sequences, from reference logits. */
    static double referenceLoss(LlamaConfig c, Map<String, Tensor> tensors, long[][] batch) {
        double total = 0;
        int count = 0;
        for (long[] ids : batch) {
            float[][] logits = referenceLogits(c, tensors, ids);
            for (int t = 0; t + 1 < ids.length; t++) {
                double max = Double.NEGATIVE_INFINITY;
                for (float z : logits[t]) max = Math.max(max, z);
                double sum = 0;
                for (float z : logits[t]) sum += Math.exp(z - max);
                total += -(logits[t][(int) ids[t + 1]] - max - Math.log(sum));
                count++;
            }
        }
        return total / count;
    }

    private static Tensor w(Map<String, Tensor> tensors, String name) {
        return tensors.get(name);
    }

    private static float[] bias(Map<String, Tensor> tensors, String name) {
        Tensor t = tensors.get(name);
        return t == null ? null : t.floats();
    }

    /** y[t][o] = sum_i x[t][i] W[o][i] + b[o], W in HF layout (out x in). */
    private static float[][] linear(float[][] x, Tensor weight, float[] b) {
        int out = (int) weight.shape()[0], in = (int) weight.shape()[1];
        float[] wt = weight.floats();
        float[][] y = new float[x.length][out];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < out; o++) {
                double acc = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) acc += (double) x[t][i] * wt[o * in + i];
                y[t][o] = (float) acc;
            }
        }
        return y;
    }

    private static float[][] rmsNorm(float[][] x, Tensor weight, double eps) {
        float[] g = weight.floats();
        float[][] y = new float[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ms = 0;
            for (float f : x[t]) ms += (double) f * f;
            double scale = 1 / Math.sqrt(ms / x[t].length + eps);
            y[t] = new float[x[t].length];
            for (int i = 0; i < x[t].length; i++) y[t][i] = (float) (x[t][i] * scale * g[i]);
        }
        return y;
    }

    /** Rotary embedding per head: pair (i, i + d/2) rotated by angle t * theta^(-2i/d). */
    private static void rotate(float[][] x, int heads, int d, double theta) {
        int half = d / 2;
        for (int t = 0; t < x.length; t++) {
            for (int head = 0; head < heads; head++) {
                for (int i = 0; i < half; i++) {
                    double angle = t * Math.pow(theta, -2.0 * i / d);
                    int a = head * d + i, b = a + half;
                    double x1 = x[t][a], x2 = x[t][b];
                    x[t][a] = (float) (x1 * Math.cos(angle) - x2 * Math.sin(angle));
                    x[t][b] = (float) (x2 * Math.cos(angle) + x1 * Math.sin(angle));
                }
            }
        }
    }

    private static void add(float[][] x, float[][] y) {
        for (int t = 0; t < x.length; t++) {
            for (int i = 0; i < x[t].length; i++) x[t][i] += y[t][i];
        }
    }
}
