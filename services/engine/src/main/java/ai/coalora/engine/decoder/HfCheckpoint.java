package ai.coalora.engine.decoder;

import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.io.Safetensors.Dtype;
import ai.coalora.engine.io.Safetensors.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A Llama / Qwen2 checkpoint in Hugging Face layout: {@code config.json} plus either one
 * {@code model.safetensors} or shards {@code model-0000N-of-0000M.safetensors} listed in
 * {@code model.safetensors.index.json} (its {@code weight_map}: tensor name -> shard file).
 *
 * <p>Every tensor the config requires (see {@link #requiredShapes}) must be present with its shape; a missing
 * or mis-shaped one is an IllegalArgumentException naming the tensor and the file. BF16 and F16 tensors are
 * widened to F32 in Java by {@link Safetensors} (a BF16 array must never reach the native engine), so every
 * tensor held here is F32. Tensors the decoder does not use (e.g. {@code rotary_emb.inv_freq}) are dropped.
 */
public final class HfCheckpoint {
    public static final String CONFIG = "config.json";
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final LlamaConfig config;
    private final Map<String, Tensor> tensors;

    /** A checkpoint from F32 tensors by HF name; checked like a loaded one. */
    public HfCheckpoint(LlamaConfig config, Map<String, Tensor> tensors) {
        this(config, tensors, Collections.emptyMap(), "given tensors");
    }

    private HfCheckpoint(
            LlamaConfig config, Map<String, Tensor> tensors, Map<String, String> sourceOf, String fallbackSource) {
        this.config = config;
        Map<String, Tensor> kept = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> required : requiredShapes(config).entrySet()) {
            String name = required.getKey();
            Tensor t = tensors.get(name);
            if (t == null) {
                throw new IllegalArgumentException(config.architecture() + " checkpoint lacks tensor '" + name
                        + "' (looked in " + fallbackSource + ")");
            }
            String source = sourceOf.getOrDefault(name, fallbackSource);
            if (!Arrays.equals(t.shape(), required.getValue())) {
                throw new IllegalArgumentException("tensor '" + name + "' in " + source + " has shape "
                        + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(required.getValue()));
            }
            if (t.dtype() != Dtype.F32) {
                throw new IllegalArgumentException("tensor '" + name + "' in " + source + " is " + t.dtype()
                        + ", expected a float type (F32, F16, BF16)");
            }
            kept.put(name, t);
        }
        this.tensors = Collections.unmodifiableMap(kept);
    }

    public LlamaConfig config() {
        return config;
    }

    /** The required tensors by HF name, F32, in {@link #requiredShapes} order. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("no tensor '" + name + "'");
        return t;
    }

    public float[] floats(String name) {
        return tensor(name).floats();
    }

    /** Every tensor a decoder of this config reads, with its HF shape (linear weights are out x in). */
    public static Map<String, long[]> requiredShapes(LlamaConfig c) {
        long h = c.hiddenSize(), q = c.queryWidth(), kv = c.keyValueWidth(), ff = c.intermediateSize();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            shapes.put(p + "input_layernorm.weight", new long[] {h});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {q, h});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            if (c.qkvBias()) {
                shapes.put(p + "self_attn.q_proj.bias", new long[] {q});
                shapes.put(p + "self_attn.k_proj.bias", new long[] {kv});
                shapes.put(p + "self_attn.v_proj.bias", new long[] {kv});
            }
            shapes.put(p + "self_attn.o_proj.weight", new long[] {h, q});
            if (c.outputBias()) shapes.put(p + "self_attn.o_proj.bias", new long[] {h});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {h});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {ff, h});
            shapes.put(p + "mlp.up_proj.weight", new long[] {ff, h});
            shapes.put(p + "mlp.down_proj.weight", new long[] {h, ff});
        }
        shapes.put("model.norm.weight", new long[] {h});
        if (!c.tieWordEmbeddings()) shapes.put("lm_head.weight", new long[] {c.vocabSize(), h});
        return shapes;
    }

    /**
     * Loads {@code dir}: config.json, then model.safetensors if present (as transformers prefers it), else the
     * shards named by model.safetensors.index.json.
     */
    public static HfCheckpoint load(Path dir) throws IOException {
        LlamaConfig config = LlamaConfig.read(dir.resolve(CONFIG));
        Path single = dir.resolve(SINGLE_FILE);
        Path index = dir.resolve(INDEX);
        if (Files.exists(single)) {
            Map<String, Tensor> tensors = Safetensors.read(single).tensors();
            return new HfCheckpoint(config, tensors, Collections.emptyMap(), single.toString());
        }
        if (!Files.exists(index)) {
            throw new IllegalArgumentException(dir + " holds neither " + SINGLE_FILE + " nor " + INDEX);
        }
        Map<String, String> shardOf = weightMap(index);
        Map<String, Tensor> tensors = new TreeMap<>();
        Map<String, String> sourceOf = new TreeMap<>();
        for (String shard : new TreeSet<>(shardOf.values())) {
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                throw new IllegalArgumentException(
                        index + ": shard '" + shard + "' is not a plain file name in " + dir);
            }
            Path file = dir.resolve(shard);
            if (!Files.exists(file))
                throw new IllegalArgumentException(index + " names shard " + file + ", which does not exist");
            Map<String, Tensor> inShard = Safetensors.read(file).tensors();
            for (Map.Entry<String, String> e : shardOf.entrySet()) {
                if (!e.getValue().equals(shard)) continue;
                Tensor t = inShard.get(e.getKey());
                if (t == null)
                    throw new IllegalArgumentException(
                            index + " puts tensor '" + e.getKey() + "' in " + file + ", which lacks it");
                tensors.put(e.getKey(), t);
                sourceOf.put(e.getKey(), file.toString());
            }
        }
        return new HfCheckpoint(config, tensors, sourceOf, "the shards of " + index);
    }

    private static Map<String, String> weightMap(Path index) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(index + " is not valid JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject())
            throw new IllegalArgumentException(index + " lacks a \"weight_map\" object");
        Map<String, String> shardOf = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual())
                throw new IllegalArgumentException(
                        index + ": weight_map entry '" + e.getKey() + "' is not a file name");
            shardOf.put(e.getKey(), e.getValue().textValue());
        }
        return shardOf;
    }

    /**
     * Writes config.json and one F32 model.safetensors (metadata format=pt, as transformers expects) into
     * {@code dir}; {@link #load} of it gives back the same tensors, bit for bit. One file is limited to 2 GiB.
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        if (Files.exists(dir.resolve(INDEX))) {
            // load prefers model.safetensors anyway, but a stale index beside it would confuse other readers
            throw new IllegalArgumentException(
                    dir + " already holds a sharded checkpoint (" + INDEX + "); save into an empty directory");
        }
        Safetensors.write(dir.resolve(SINGLE_FILE), tensors, Map.of("format", "pt"));
        config.write(dir.resolve(CONFIG));
    }
}
