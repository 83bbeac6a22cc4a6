package ai.coalora.engine.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.io.Safetensors.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** config.json parsing and the errors of a bad checkpoint: each names what is wrong and where. */
class LlamaCheckpointTest {
    @TempDir
    Path dir;

    private static final String LLAMA_JSON = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 160,
             "num_hidden_layers": 2, "num_attention_heads": 4, "rms_norm_eps": 1e-05, "max_position_embeddings": 128,
             "vocab_size": 97, "hidden_act": "silu", "torch_dtype": "bfloat16", "bos_token_id": 1%s}""";

    private static String llamaJson(String extra) {
        return String.format(LLAMA_JSON, extra);
    }

    private static IllegalArgumentException configError(String json) {
        return assertThrows(IllegalArgumentException.class, () -> LlamaConfig.fromJson(json));
    }

    @Test
    void readsDefaultsAndOptionalFields() {
        LlamaConfig c = LlamaConfig.fromJson(llamaJson(""));
        assertEquals(
                LlamaConfig.llama(97, 64, 160, 2, 4, 4, 1e-5, 10000.0, 128, false), c); // kv heads = heads, theta 1e4
        LlamaConfig gqa = LlamaConfig.fromJson(
                llamaJson(", \"num_key_value_heads\": 2, \"rope_theta\": 500000.0, \"head_dim\": 32,"
                        + " \"tie_word_embeddings\": true, \"rope_scaling\": null, \"attention_bias\": false"));
        assertEquals(2, gqa.numKeyValueHeads());
        assertEquals(500000.0, gqa.ropeTheta());
        assertEquals(32, gqa.headDim());
        assertEquals(128, gqa.queryWidth());
        assertTrue(gqa.tieWordEmbeddings());
        LlamaConfig biased = LlamaConfig.fromJson(llamaJson(", \"attention_bias\": true"));
        assertTrue(biased.qkvBias() && biased.outputBias());

        LlamaConfig qwen = LlamaConfig.fromJson("""
                {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                 "num_attention_heads": 14, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
                 "max_position_embeddings": 32768, "vocab_size": 151936, "tie_word_embeddings": true,
                 "use_sliding_window": false, "sliding_window": 32768, "max_window_layers": 21, "hidden_act": "silu"}""");
        assertEquals(LlamaConfig.qwen2(151936, 896, 4864, 24, 14, 2, 1e-6, 1e6, 32768, true), qwen); // Qwen2.5-0.5B
        assertTrue(qwen.qkvBias() && !qwen.outputBias());
        assertEquals(64, qwen.headDim());
    }

    @Test
    void writesConfigThatReadsBack() throws Exception {
        for (LlamaConfig c : new LlamaConfig[] {
            LlamaTestModels.tinyLlama(),
            LlamaTestModels.tinyQwen2(),
            new LlamaConfig(LlamaConfig.LLAMA, 50, 32, 48, 1, 2, 1, 24, 1e-6, 500.0, 64, true, true, true)
        }) {
            Path file = dir.resolve(c.architecture() + c.headDim() + ".json");
            c.write(file);
            assertEquals(c, LlamaConfig.read(file));
        }
    }

    @Test
    void unsupportedArchitecturesAndFeaturesAreNamed() {
        String gpt2 = llamaJson("").replace("LlamaForCausalLM", "GPT2LMHeadModel");
        assertTrue(configError(gpt2).getMessage().contains("unsupported architecture 'GPT2LMHeadModel'"));
        assertTrue(configError(llamaJson(", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}"))
                .getMessage()
                .contains("llama3"));
        assertTrue(configError(llamaJson(", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}"))
                .getMessage()
                .contains("'linear'"));
        assertTrue(configError(llamaJson(", \"mlp_bias\": true")).getMessage().contains("mlp_bias"));
        assertTrue(configError(llamaJson("").replace("\"silu\"", "\"gelu\""))
                .getMessage()
                .contains("gelu"));
        assertTrue(configError(llamaJson(", \"num_key_value_heads\": 3"))
                .getMessage()
                .contains("num_key_value_heads 3"));
        assertTrue(configError(llamaJson("").replace("\"vocab_size\": 97,", ""))
                .getMessage()
                .contains("vocab_size"));
        assertTrue(configError("{\"architectures\": [\"Qwen2ForCausalLM\"], \"use_sliding_window\": true}")
                .getMessage()
                .contains("use_sliding_window"));
        // the file's name prefixes errors read from a file
        Path file = dir.resolve("config.json");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> {
                    Files.writeString(file, gpt2);
                    LlamaConfig.read(file);
                })
                .getMessage()
                .contains(file.toString()));
    }

    private Path savedTiny(Map<String, Tensor> replaced, String removed) throws Exception {
        LlamaConfig config = LlamaTestModels.tinyLlama();
        Map<String, Tensor> tensors = new LinkedHashMap<>(LlamaTestModels.randomTensors(config, 1, false));
        config.write(dir.resolve("config.json"));
        tensors.putAll(replaced);
        tensors.remove(removed);
        Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of());
        return dir;
    }

    private IllegalArgumentException loadError(Path d) {
        return assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(d));
    }

    @Test
    void missingTensorIsNamedWithTheFile() throws Exception {
        String msg = loadError(savedTiny(Map.of(), "model.layers.1.mlp.up_proj.weight"))
                .getMessage();
        assertTrue(msg.contains("'model.layers.1.mlp.up_proj.weight'") && msg.contains("model.safetensors"), msg);
        Files.delete(dir.resolve("model.safetensors"));
        String lmHead = loadError(savedTiny(Map.of(), "lm_head.weight")).getMessage(); // untied: lm_head required
        assertTrue(lmHead.contains("lm_head.weight"), lmHead);
    }

    @Test
    void wrongShapeIsNamedWithTheFile() throws Exception {
        Tensor transposed = Tensor.ofFloats(new float[32 * 64], 64, 32); // k_proj is (kv heads x head dim = 32) x 64
        String msg = loadError(savedTiny(Map.of("model.layers.0.self_attn.k_proj.weight", transposed), ""))
                .getMessage();
        assertTrue(
                msg.contains("'model.layers.0.self_attn.k_proj.weight'")
                        && msg.contains("[64, 32]")
                        && msg.contains("expected [32, 64]")
                        && msg.contains("model.safetensors"),
                msg);
    }

    @Test
    void nonFloatTensorIsRejected() throws Exception {
        Tensor ints = Tensor.ofInts(new int[64], 64);
        String msg = loadError(savedTiny(Map.of("model.norm.weight", ints), "")).getMessage();
        assertTrue(msg.contains("model.norm.weight") && msg.contains("I32"), msg);
    }

    @Test
    void shardErrorsNameTheShard() throws Exception {
        LlamaConfig config = LlamaTestModels.tinyLlama();
        Map<String, Tensor> tensors = LlamaTestModels.randomTensors(config, 2, true);
        LlamaTestModels.writeBf16Sharded(dir, config, tensors, 2);
        Path index = dir.resolve("model.safetensors.index.json");
        String json = Files.readString(index);

        // a tensor the index does not list
        var parsed = (com.fasterxml.jackson.databind.node.ObjectNode)
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        ((com.fasterxml.jackson.databind.node.ObjectNode) parsed.get("weight_map")).remove("model.norm.weight");
        Files.writeString(index, parsed.toString());
        String missing = loadError(dir).getMessage();
        assertTrue(
                missing.contains("'model.norm.weight'") && missing.contains("model.safetensors.index.json"), missing);

        // a tensor listed in the wrong shard
        String shardOfNorm = json.replaceAll("(?s).*\"model.norm.weight\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        String other =
                shardOfNorm.contains("00001") ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
        Files.writeString(
                index,
                json.replace(
                        "\"model.norm.weight\":\"" + shardOfNorm + "\"", "\"model.norm.weight\":\"" + other + "\""));
        String wrongShard = loadError(dir).getMessage();
        assertTrue(wrongShard.contains("'model.norm.weight'") && wrongShard.contains(other), wrongShard);

        // a missing shard file
        Files.writeString(index, json);
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        String gone = loadError(dir).getMessage();
        assertTrue(gone.contains("model-00002-of-00002.safetensors") && gone.contains("does not exist"), gone);

        // a shard name that leaves the directory
        Files.writeString(
                index, json.replace("model-00001-of-00002.safetensors", "../model-00001-of-00002.safetensors"));
        assertTrue(loadError(dir).getMessage().contains("not a plain file name"));

        // nothing at all
        Files.delete(index);
        assertTrue(loadError(dir).getMessage().contains("neither"));
    }

    @Test
    void checkpointFromTensorsKeepsOnlyWhatTheDecoderReads() {
        LlamaConfig config = LlamaTestModels.tinyQwen2();
        Map<String, Tensor> tensors = new LinkedHashMap<>(LlamaTestModels.randomTensors(config, 3, false));
        tensors.put("model.layers.0.self_attn.rotary_emb.inv_freq", Tensor.ofFloats(new float[8], 8));
        HfCheckpoint ckpt = new HfCheckpoint(config, tensors);
        assertFalse(ckpt.tensors().containsKey("model.layers.0.self_attn.rotary_emb.inv_freq"));
        assertEquals(
                HfCheckpoint.requiredShapes(config).keySet(), ckpt.tensors().keySet());
        String noBias = assertThrows(IllegalArgumentException.class, () -> {
                    Map<String, Tensor> t = new LinkedHashMap<>(tensors);
                    t.remove("model.layers.1.self_attn.v_proj.bias");
                    new HfCheckpoint(config, t);
                })
                .getMessage();
        assertTrue(noBias.contains("model.layers.1.self_attn.v_proj.bias"), noBias);
    }
}
