package ai.coalora.engine.gguf;

import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.gguf.GgufLoraFile.Pair;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A Llama / Qwen2 decoder quantized by one CoA-LoRA configuration, as a GGUF file that llama.cpp's "llama" (or
 * "qwen2") architecture loads, and the folded adapter of that configuration as a GGUF LoRA; plus the way back
 * (every tensor dequantized to F32, in Hugging Face layout) so that our own decoder can check what a device runs.
 *
 * <p>Layout, following the GGUF specification and llama.cpp's {@code convert_hf_to_gguf.py}:
 * <ul>
 *   <li>tensor names: {@link LlamaTensorNames}; Llama's q and k rows (weights and biases) reordered by
 *       {@link RopeLayout} with the query and the key/value head counts; Qwen2 kept as is (llama.cpp runs it in
 *       NeoX rotary mode, which is HF's);
 *   <li>tensor types: the 7 linear weights per block get {@link GgufTypes#typeFor(MatrixSpec, QuantConfig)},
 *       quantized by {@link GgufType}'s Java codecs; norms and biases {@link #VECTOR_TYPE}; the token embeddings and
 *       the output head {@link #EMBEDDING_TYPE};
 *   <li>metadata: {@code general.*}, the architecture's hyper-parameters, a GPT-2 style byte-level BPE tokenizer
 *       ({@code tokenizer.ggml.*}) and the configuration itself ({@code coalora.*}).
 * </ul>
 */
public final class GgufDecoderExport {
    private GgufDecoderExport() {}

    /**
     * Token embeddings and output head. The method keeps them out of the configuration (full precision); F16 is
     * what {@code convert_hf_to_gguf.py} writes by default, halves the largest tensors of a small-vocabulary edge
     * model against F32, and every runtime reads it (llama.cpp's own quantizer would pick Q6_K for the head, a
     * choice outside the configuration the adapter was trained for).
     */
    public static final GgufType EMBEDDING_TYPE = GgufType.F16;
    /** Norm weights and biases: F32, as llama.cpp requires for 1-D tensors. */
    public static final GgufType VECTOR_TYPE = GgufType.F32;
    /** LoRA factors: F32, so the stored delta is exactly the adapter's (they are small). */
    public static final GgufType LORA_TYPE = GgufType.F32;
    /** ggml's quantization format version of the Q*_0 / K-quant layouts (GGML_QNT_VERSION). */
    public static final int QUANTIZATION_VERSION = 2;
    /**
     * {@code tokenizer.ggml.pre}: llama.cpp's name for the GPT-2 pre-tokenizer regex, which is exactly what
     * {@link BpeTokenizer} uses ({@code 's|'t|...| ?\p{L}+| ?\p{N}+|...}); "default" would select another regex set.
     */
    public static final String PRE_TOKENIZER = "gpt-2";

    public static final String ARCHITECTURE_KEY = "general.architecture",
            NAME_KEY = "general.name",
            FILE_TYPE_KEY = "general.file_type",
            QUANTIZATION_VERSION_KEY = "general.quantization_version";
    public static final String AVERAGE_BITS_KEY = "coalora.average_bits",
            GGUF_BITS_KEY = "coalora.gguf_bits_per_weight",
            MAPPING_KEY = "coalora.mapping",
            CONFIG_ID_KEY = "coalora.config_id",
            QUANT_CONFIG_KEY = "coalora.quant_config";

    /** gguf-py's {@code TokenType} values we use. */
    public static final int TOKEN_NORMAL = 1, TOKEN_CONTROL = 3, TOKEN_UNUSED = 5;

    // ---------------------------------------------------------------- the model

    /** Writes the quantized decoder with its tokenizer as a GGUF file (atomically). */
    public static void export(
            HfCheckpoint checkpoint, BpeTokenizer tokenizer, ModelQuantConfig config, GgufTypes mapping, Path out)
            throws IOException {
        GgufWriter.write(out, toGguf(checkpoint, tokenizer, config, mapping));
    }

    /** {@link #export} with the tokenizer read from a Hugging Face {@code tokenizer.json}. */
    public static void export(
            HfCheckpoint checkpoint, Path tokenizerJson, ModelQuantConfig config, GgufTypes mapping, Path out)
            throws IOException {
        export(checkpoint, BpeTokenizer.load(tokenizerJson), config, mapping, out);
    }

    /** The GGUF contents {@link #export} writes. */
    public static GgufFile toGguf(
            HfCheckpoint checkpoint, BpeTokenizer tokenizer, ModelQuantConfig config, GgufTypes mapping) {
        LlamaConfig c = checkpoint.config();
        Map<String, GgufType> types = tensorTypes(c, config, mapping);
        List<GgufTensor> tensors = new ArrayList<>();
        for (Map.Entry<String, GgufType> e : types.entrySet())
            tensors.add(toGgufTensor(checkpoint, e.getKey(), e.getValue()));

        Map<String, GgufValue> meta = new LinkedHashMap<>();
        String arch = ggufArchitecture(c.architecture());
        meta.put(ARCHITECTURE_KEY, GgufValue.string(arch));
        meta.put(
                NAME_KEY,
                GgufValue.string(String.format(Locale.ROOT, "CoA-LoRA %s %.3f bits", arch, config.averageBits())));
        meta.put(FILE_TYPE_KEY, GgufValue.uint32(fileType(mostlyType(config, mapping))));
        meta.put(QUANTIZATION_VERSION_KEY, GgufValue.uint32(QUANTIZATION_VERSION));
        meta.putAll(hyperParameters(c));
        meta.putAll(tokenizerMetadata(tokenizer, c.vocabSize()));
        meta.put(AVERAGE_BITS_KEY, GgufValue.float64(config.averageBits()));
        meta.put(GGUF_BITS_KEY, GgufValue.float64(mapping.bitsPerWeight(config)));
        meta.put(MAPPING_KEY, GgufValue.string(mapping.key()));
        meta.put(CONFIG_ID_KEY, GgufValue.string(config.configId()));
        meta.put(QUANT_CONFIG_KEY, GgufValue.string(config.toJson()));
        return new GgufFile(meta, tensors);
    }

    /**
     * The GGUF type of every tensor of a decoder of shape {@code c}, by HF name in checkpoint order. The
     * configuration must name exactly the decoder's quantizable matrices with their shapes; anything else is an
     * IllegalArgumentException naming the matrix.
     */
    public static Map<String, GgufType> tensorTypes(LlamaConfig c, ModelQuantConfig config, GgufTypes mapping) {
        Map<String, QuantConfig> byName = checkCovers(c, config);
        Map<String, GgufType> types = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : HfCheckpoint.requiredShapes(c).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            GgufType type;
            if (byName.containsKey(name))
                type = mapping.typeFor(new MatrixSpec(name, (int) shape[0], (int) shape[1]), byName.get(name));
            else if (shape.length == 2) type = EMBEDDING_TYPE; // token embeddings, output head
            else type = VECTOR_TYPE;
            types.put(name, type);
        }
        return types;
    }

    /** "llama" or "qwen2" for our HF architectures; an IllegalArgumentException for any other. */
    public static String ggufArchitecture(String hfArchitecture) {
        return switch (hfArchitecture) {
            case LlamaConfig.LLAMA -> "llama";
            case LlamaConfig.QWEN2 -> "qwen2";
            default ->
                throw new IllegalArgumentException("no GGUF export for architecture '" + hfArchitecture
                        + "' (supported: " + LlamaConfig.ARCHITECTURES + ")");
        };
    }

    private static String hfArchitecture(String ggufArchitecture) {
        return switch (ggufArchitecture) {
            case "llama" -> LlamaConfig.LLAMA;
            case "qwen2" -> LlamaConfig.QWEN2;
            default ->
                throw new IllegalArgumentException(
                        "unsupported " + ARCHITECTURE_KEY + " '" + ggufArchitecture + "' (supported: llama, qwen2)");
        };
    }

    /** Heads whose q/k rows this tensor reorders on export (0: none). Only llama.cpp's "llama" runs interleaved RoPE. */
    private static int ropeHeads(String hfName, LlamaConfig c) {
        return c.architecture().equals(LlamaConfig.LLAMA) ? LlamaTensorNames.ropeHeads(hfName, c) : 0;
    }

    private static GgufTensor toGgufTensor(HfCheckpoint checkpoint, String hfName, GgufType type) {
        Tensor t = checkpoint.tensor(hfName);
        long[] shape = t.shape();
        int rows = (int) shape[0], cols = shape.length == 2 ? (int) shape[1] : 1;
        float[] values = t.floats();
        int heads = ropeHeads(hfName, checkpoint.config());
        if (heads > 0) values = RopeLayout.halvesToInterleaved(values, rows, cols, heads);
        String name = LlamaTensorNames.toGguf(hfName);
        return shape.length == 2
                ? GgufTensor.matrix(name, type, values, rows, cols)
                : GgufTensor.quantize(name, type, values, rows);
    }

    /** The configuration by name, checked against the decoder's quantizable matrices (both ways). */
    private static Map<String, QuantConfig> checkCovers(LlamaConfig c, ModelQuantConfig config) {
        Map<String, long[]> shapes = HfCheckpoint.requiredShapes(c);
        Map<String, QuantConfig> byName = new LinkedHashMap<>();
        for (ModelQuantConfig.Entry e : config.matrices()) {
            MatrixSpec m = e.matrix();
            long[] shape = shapes.get(m.name());
            if (shape == null) {
                throw new IllegalArgumentException("configuration names matrix '" + m.name() + "', which this "
                        + c.architecture() + " checkpoint lacks");
            }
            if (!LlamaTensorNames.isQuantizable(m.name())) {
                throw new IllegalArgumentException("configuration names '" + m.name()
                        + "', which is not one of the quantized linear weights " + LlamaTensorNames.QUANTIZABLE);
            }
            if (shape[0] != m.rows() || shape[1] != m.cols()) {
                throw new IllegalArgumentException("matrix '" + m.name() + "' is " + m.rows() + " x " + m.cols()
                        + " in the configuration but " + shape[0] + " x " + shape[1] + " in the checkpoint");
            }
            byName.put(m.name(), e.config());
        }
        Set<String> missing = new LinkedHashSet<>();
        for (MatrixSpec m : LlamaTensorNames.quantizableMatrices(c))
            if (!byName.containsKey(m.name())) missing.add(m.name());
        if (!missing.isEmpty())
            throw new IllegalArgumentException(
                    "configuration lacks " + missing.size() + " quantizable matrices: " + missing);
        return byName;
    }

    /** The type holding most of the quantized weights (ties: the first in configuration order). */
    static GgufType mostlyType(ModelQuantConfig config, GgufTypes mapping) {
        Map<GgufType, Long> numel = new LinkedHashMap<>();
        for (ModelQuantConfig.Entry e : config.matrices())
            numel.merge(mapping.typeFor(e.matrix(), e.config()), e.matrix().numel(), Long::sum);
        return numel.entrySet().stream()
                .max(Map.Entry.comparingByValue())
                .orElseThrow()
                .getKey();
    }

    /**
     * llama.cpp's {@code llama_ftype} for a file mostly of {@code type} ("mostly X, except 1-D tensors"); the
     * K-quants map to their "_S" (small: that type throughout) variants. llama.cpp only prints it.
     */
    static int fileType(GgufType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case Q2_K -> 10;
            case Q3_K -> 11;
            case Q4_K -> 14;
            case Q5_K -> 16;
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no llama_ftype for " + type);
        };
    }

    /** {@code <arch>.*} keys, with the types llama.cpp's loader checks (UINT32 counts, FLOAT32 constants). */
    private static Map<String, GgufValue> hyperParameters(LlamaConfig c) {
        String a = ggufArchitecture(c.architecture()) + ".";
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(a + "vocab_size", GgufValue.uint32(c.vocabSize()));
        m.put(a + "context_length", GgufValue.uint32(c.maxPositions()));
        m.put(a + "embedding_length", GgufValue.uint32(c.hiddenSize()));
        m.put(a + "block_count", GgufValue.uint32(c.numLayers()));
        m.put(a + "feed_forward_length", GgufValue.uint32(c.intermediateSize()));
        m.put(a + "attention.head_count", GgufValue.uint32(c.numHeads()));
        m.put(a + "attention.head_count_kv", GgufValue.uint32(c.numKeyValueHeads()));
        // written always: llama.cpp's default (embedding_length / head_count) is wrong when the config sets head_dim
        m.put(a + "attention.key_length", GgufValue.uint32(c.headDim()));
        m.put(a + "attention.value_length", GgufValue.uint32(c.headDim()));
        m.put(a + "rope.dimension_count", GgufValue.uint32(c.headDim()));
        m.put(a + "rope.freq_base", GgufValue.float32((float) c.ropeTheta()));
        m.put(a + "attention.layer_norm_rms_epsilon", GgufValue.float32((float) c.rmsNormEps()));
        return m;
    }

    /**
     * {@code tokenizer.ggml.*} for a byte-level BPE tokenizer ({@code model = "gpt2"}): tokens by id (specials as
     * CONTROL), padded with {@code [PADi]} UNUSED tokens up to the model's vocab_size as convert_hf_to_gguf pads;
     * merges in rank order; {@value Pretraining#END_OF_TEXT} as end (and, GPT-2 style, begin) of text, not added
     * automatically since pre-training separates documents by it without a leading BOS.
     */
    private static Map<String, GgufValue> tokenizerMetadata(BpeTokenizer tokenizer, int vocabSize) {
        if (tokenizer.vocabSize() > vocabSize) {
            throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabSize()
                    + " tokens, more than the model's vocab_size " + vocabSize);
        }
        List<String> tokens = new ArrayList<>(vocabSize);
        List<Integer> types = new ArrayList<>(vocabSize);
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            String token = tokenizer.token(id);
            tokens.add(token);
            types.add(tokenizer.specials().contains(token) ? TOKEN_CONTROL : TOKEN_NORMAL);
        }
        for (int id = tokenizer.vocabSize(); id < vocabSize; id++) {
            tokens.add("[PAD" + id + "]");
            types.add(TOKEN_UNUSED);
        }
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        m.put("tokenizer.ggml.pre", GgufValue.string(PRE_TOKENIZER));
        m.put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.Kind.STRING, tokens));
        m.put("tokenizer.ggml.token_type", GgufValue.array(GgufValue.Kind.INT32, types));
        m.put("tokenizer.ggml.merges", GgufValue.array(GgufValue.Kind.STRING, tokenizer.merges()));
        if (tokenizer.specials().contains(Pretraining.END_OF_TEXT)) {
            long eot = tokenizer.id(Pretraining.END_OF_TEXT);
            m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(eot));
            m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(eot));
        }
        m.put("tokenizer.ggml.add_bos_token", GgufValue.bool(false));
        m.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        return m;
    }

    // ---------------------------------------------------------------- the adapter

    /**
     * Writes the adapter folded for {@code config} as a GGUF LoRA ({@link GgufLoraFile}, F32) for the base file
     * {@link #export} writes: {@code adapters} are keyed by HF matrix name in HF layout (A rank x in, B out x rank);
     * llama.cpp scales each pair by {@code alpha / rank}.
     */
    public static void exportLora(
            LlamaConfig c, ModelQuantConfig config, Map<String, Pair> adapters, float alpha, Path out)
            throws IOException {
        toLora(c, config, adapters, alpha).write(out, LORA_TYPE);
    }

    /**
     * The adapter as llama.cpp wants it: GGUF tensor names, and for Llama B's rows of q and k reordered like the
     * base weights ({@code P(W + s B A) = P W + s (P B) A} for a row permutation P), so the delta lands on the
     * rows it was trained for.
     */
    public static GgufLoraFile toLora(LlamaConfig c, ModelQuantConfig config, Map<String, Pair> adapters, float alpha) {
        Map<String, QuantConfig> quantized = checkCovers(c, config);
        Map<String, Pair> pairs = new LinkedHashMap<>();
        for (Map.Entry<String, Pair> e : adapters.entrySet()) {
            String hf = e.getKey();
            Pair p = e.getValue();
            if (!quantized.containsKey(hf)) {
                throw new IllegalArgumentException("LoRA pair for '" + hf
                        + "', which is not a quantized matrix of this " + c.architecture() + " checkpoint");
            }
            long[] shape = HfCheckpoint.requiredShapes(c).get(hf);
            if (p.out() != shape[0] || p.in() != shape[1]) {
                throw new IllegalArgumentException("LoRA pair for '" + hf + "' is " + p.out() + " x " + p.in()
                        + ", the matrix is " + shape[0] + " x " + shape[1]);
            }
            int heads = ropeHeads(hf, c);
            float[] b = heads > 0 ? RopeLayout.halvesToInterleaved(p.b(), p.out(), p.rank(), heads) : p.b();
            pairs.put(LlamaTensorNames.toGguf(hf), new Pair(p.out(), p.in(), p.rank(), p.a(), b));
        }
        Map<String, GgufValue> extra = new LinkedHashMap<>();
        extra.put(
                NAME_KEY,
                GgufValue.string(String.format(Locale.ROOT, "CoA-LoRA adapter %.3f bits", config.averageBits())));
        extra.put(CONFIG_ID_KEY, GgufValue.string(config.configId()));
        extra.put(AVERAGE_BITS_KEY, GgufValue.float64(config.averageBits()));
        return new GgufLoraFile(ggufArchitecture(c.architecture()), alpha, pairs, extra);
    }

    /** The inverse of {@link #toLora}: pairs by HF name in HF layout. */
    public static Map<String, Pair> loraPairs(GgufLoraFile lora, LlamaConfig c) {
        Map<String, Pair> out = new LinkedHashMap<>();
        for (Map.Entry<String, Pair> e : lora.pairs().entrySet()) {
            String hf = LlamaTensorNames.toHf(e.getKey());
            Pair p = e.getValue();
            int heads = ropeHeads(hf, c);
            float[] b = heads > 0 ? RopeLayout.interleavedToHalves(p.b(), p.out(), p.rank(), heads) : p.b();
            out.put(hf, new Pair(p.out(), p.in(), p.rank(), p.a(), b));
        }
        return out;
    }

    // ---------------------------------------------------------------- the way back

    /** Reads a file {@link #export} wrote (or one of the same layout) as an F32 checkpoint in HF layout. */
    public static HfCheckpoint read(Path file) throws IOException {
        try {
            return fromGguf(GgufReader.read(file));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * {@link #read(Path)} with a GGUF LoRA for it merged into the weights ({@code W + alpha/r * B A}): the model
     * llama.cpp runs with {@code --lora adapter} at scale 1.
     */
    public static HfCheckpoint read(Path model, Path adapter) throws IOException {
        HfCheckpoint base = read(model);
        GgufLoraFile lora = GgufLoraFile.read(adapter);
        Map<String, Tensor> tensors = new LinkedHashMap<>(base.tensors());
        for (Map.Entry<String, Pair> e : loraPairs(lora, base.config()).entrySet()) {
            float[] w = base.floats(e.getKey());
            float[] d = e.getValue().delta(lora.alpha() / e.getValue().rank());
            for (int i = 0; i < w.length; i++) w[i] += d[i];
            tensors.put(e.getKey(), Tensor.ofFloats(w, base.tensor(e.getKey()).shape()));
        }
        return new HfCheckpoint(base.config(), tensors);
    }

    /** Every tensor dequantized to F32, q/k rows put back in HF order, names mapped back; the config from the metadata. */
    public static HfCheckpoint fromGguf(GgufFile file) {
        LlamaConfig c = config(file);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (GgufTensor t : file.tensors()) {
            String hf = LlamaTensorNames.toHf(t.name());
            if (!t.type().hasCodec())
                throw new IllegalArgumentException(
                        "tensor '" + t.name() + "' is " + t.type() + ", which cannot be decoded here");
            long[] dims = t.dims();
            long[] shape = new long[dims.length];
            for (int i = 0; i < dims.length; i++) shape[i] = dims[dims.length - 1 - i]; // ggml: innermost first
            float[] values = t.dequantize();
            int heads = ropeHeads(hf, c);
            if (heads > 0)
                values = RopeLayout.interleavedToHalves(
                        values, (int) shape[0], shape.length == 2 ? (int) shape[1] : 1, heads);
            tensors.put(hf, Tensor.ofFloats(values, shape));
        }
        return new HfCheckpoint(c, tensors);
    }

    /** The decoder shape the metadata describes (ties and biases from which tensors are present). */
    public static LlamaConfig config(GgufFile file) {
        String arch = file.get(ARCHITECTURE_KEY).asString();
        String hfArch = hfArchitecture(arch);
        String a = arch + ".";
        Set<String> names = new LinkedHashSet<>();
        for (GgufTensor t : file.tensors()) names.add(t.name());
        int hidden = count(file, a + "embedding_length"), heads = count(file, a + "attention.head_count");
        return new LlamaConfig(
                hfArch,
                count(file, a + "vocab_size"),
                hidden,
                count(file, a + "feed_forward_length"),
                count(file, a + "block_count"),
                heads,
                count(file, a + "attention.head_count_kv"),
                file.metadata().containsKey(a + "attention.key_length")
                        ? count(file, a + "attention.key_length")
                        : hidden / heads,
                decimal(file, a + "attention.layer_norm_rms_epsilon"),
                decimal(file, a + "rope.freq_base"),
                count(file, a + "context_length"),
                !names.contains("output.weight"),
                names.contains("blk.0.attn_q.bias"),
                names.contains("blk.0.attn_output.bias"));
    }

    private static int count(GgufFile file, String key) {
        return Math.toIntExact(file.get(key).asLong());
    }

    /** A FLOAT32 constant as the decimal it was written from (1e-5f reads back as 1e-5, not 9.99999974e-6). */
    private static double decimal(GgufFile file, String key) {
        GgufValue v = file.get(key);
        return v.kind() == GgufValue.Kind.FLOAT32 ? Double.parseDouble(Float.toString(v.asFloat())) : v.asDouble();
    }
}
