package ai.coalora.engine.gguf;

import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.quant.MatrixSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hugging Face tensor names of a Llama / Qwen2 checkpoint and their GGUF names, as llama.cpp's
 * {@code convert_hf_to_gguf.py} maps them (gguf-py's {@code MODEL_TENSOR} names):
 *
 * <pre>
 * model.embed_tokens.weight                      token_embd.weight
 * model.layers.N.input_layernorm.weight          blk.N.attn_norm.weight
 * model.layers.N.self_attn.{q,k,v}_proj.{weight,bias}  blk.N.attn_{q,k,v}.{weight,bias}
 * model.layers.N.self_attn.o_proj.{weight,bias}  blk.N.attn_output.{weight,bias}
 * model.layers.N.post_attention_layernorm.weight blk.N.ffn_norm.weight
 * model.layers.N.mlp.{gate,up,down}_proj.weight  blk.N.ffn_{gate,up,down}.weight
 * model.norm.weight                              output_norm.weight
 * lm_head.weight                                 output.weight (absent when the embeddings are tied)
 * </pre>
 */
public final class LlamaTensorNames {
    private LlamaTensorNames() {}

    /** Whole-model tensors: HF name, GGUF name. */
    private static final List<String[]> GLOBAL = List.of(
            new String[] {"model.embed_tokens.weight", "token_embd.weight"},
            new String[] {"model.norm.weight", "output_norm.weight"},
            new String[] {"lm_head.weight", "output.weight"});

    /** Per-block tensors, the part after the block prefix: HF, GGUF. */
    private static final List<String[]> BLOCK = List.of(
            new String[] {"input_layernorm.weight", "attn_norm.weight"},
            new String[] {"self_attn.q_proj.weight", "attn_q.weight"},
            new String[] {"self_attn.q_proj.bias", "attn_q.bias"},
            new String[] {"self_attn.k_proj.weight", "attn_k.weight"},
            new String[] {"self_attn.k_proj.bias", "attn_k.bias"},
            new String[] {"self_attn.v_proj.weight", "attn_v.weight"},
            new String[] {"self_attn.v_proj.bias", "attn_v.bias"},
            new String[] {"self_attn.o_proj.weight", "attn_output.weight"},
            new String[] {"self_attn.o_proj.bias", "attn_output.bias"},
            new String[] {"post_attention_layernorm.weight", "ffn_norm.weight"},
            new String[] {"mlp.gate_proj.weight", "ffn_gate.weight"},
            new String[] {"mlp.up_proj.weight", "ffn_up.weight"},
            new String[] {"mlp.down_proj.weight", "ffn_down.weight"});

    /** The 7 quantized linear weights of a block, in HF's order (the unit of a CoA-LoRA configuration). */
    public static final List<String> QUANTIZABLE = List.of(
            "self_attn.q_proj.weight",
            "self_attn.k_proj.weight",
            "self_attn.v_proj.weight",
            "self_attn.o_proj.weight",
            "mlp.gate_proj.weight",
            "mlp.up_proj.weight",
            "mlp.down_proj.weight");

    private static final Pattern HF_BLOCK = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern GGUF_BLOCK = Pattern.compile("blk\\.(\\d+)\\.(.+)");

    /** The GGUF name of an HF tensor; an IllegalArgumentException for a name the mapping does not know. */
    public static String toGguf(String hf) {
        return translate(hf, HF_BLOCK, "blk.", 0, 1);
    }

    /** The HF name of a GGUF tensor; an IllegalArgumentException for a name the mapping does not know. */
    public static String toHf(String gguf) {
        return translate(gguf, GGUF_BLOCK, "model.layers.", 1, 0);
    }

    private static String translate(String name, Pattern block, String targetPrefix, int from, int to) {
        for (String[] g : GLOBAL) if (g[from].equals(name)) return g[to];
        Matcher m = block.matcher(name);
        if (m.matches()) {
            for (String[] b : BLOCK) if (b[from].equals(m.group(2))) return targetPrefix + m.group(1) + "." + b[to];
        }
        throw new IllegalArgumentException("tensor '" + name + "' is not part of a Llama / Qwen2 decoder");
    }

    /** Whether an HF name is one of the 7 quantized linear weights of some block. */
    public static boolean isQuantizable(String hf) {
        Matcher m = HF_BLOCK.matcher(hf);
        return m.matches() && QUANTIZABLE.contains(m.group(2));
    }

    /**
     * Query heads for {@code q_proj}, key/value heads for {@code k_proj} (weight or bias): the rows llama.cpp's
     * "llama" architecture wants in {@link RopeLayout interleaved} order. 0 for every other tensor.
     */
    public static int ropeHeads(String hf, LlamaConfig config) {
        if (hf.endsWith(".self_attn.q_proj.weight") || hf.endsWith(".self_attn.q_proj.bias")) return config.numHeads();
        if (hf.endsWith(".self_attn.k_proj.weight") || hf.endsWith(".self_attn.k_proj.bias"))
            return config.numKeyValueHeads();
        return 0;
    }

    /** Every quantizable matrix of a decoder of this shape, with its HF shape (rows = out, cols = in). */
    public static List<MatrixSpec> quantizableMatrices(LlamaConfig config) {
        List<MatrixSpec> out = new ArrayList<>();
        for (Map.Entry<String, long[]> e : HfCheckpoint.requiredShapes(config).entrySet()) {
            if (isQuantizable(e.getKey()))
                out.add(new MatrixSpec(e.getKey(), (int) e.getValue()[0], (int) e.getValue()[1]));
        }
        return out;
    }
}
