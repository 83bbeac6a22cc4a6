package ai.coalora.engine.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Shape of a Llama-family decoder, read from (and written as) a Hugging Face {@code config.json}.
 *
 * <p>Supported: {@code LlamaForCausalLM} and {@code Qwen2ForCausalLM} with SiLU MLPs and plain rotary
 * position embeddings (no {@code rope_scaling}). Qwen2 always has q/k/v biases; Llama has q/k/v/o biases
 * when {@code attention_bias} is true. Anything else (another architecture, a rope scaling type, an MLP
 * bias, a sliding window, another activation) is an IllegalArgumentException naming it, rather than a
 * model that silently computes something else.
 *
 * @param architecture      {@code LlamaForCausalLM} or {@code Qwen2ForCausalLM}
 * @param numKeyValueHeads  grouped-query attention: each k/v head serves {@code numHeads / numKeyValueHeads} query heads
 * @param headDim           per-head width; {@code hiddenSize / numHeads} unless the config says otherwise
 * @param qkvBias           q, k and v projections have biases
 * @param outputBias        the attention output projection has a bias (Llama with {@code attention_bias})
 */
public record LlamaConfig(
        String architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        int maxPositions,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean outputBias) {

    public static final String LLAMA = "LlamaForCausalLM";
    public static final String QWEN2 = "Qwen2ForCausalLM";
    public static final List<String> ARCHITECTURES = List.of(LLAMA, QWEN2);

    private static final JsonMapper JSON = JsonMapper.builder().build();

    public LlamaConfig {
        if (!ARCHITECTURES.contains(architecture)) {
            throw new IllegalArgumentException(
                    "unsupported architecture '" + architecture + "' (supported: " + ARCHITECTURES + ")");
        }
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numLayers);
        positive("num_attention_heads", numHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("max_position_embeddings", maxPositions);
        if (numHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numHeads
                    + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        }
        if (headDim % 2 != 0)
            throw new IllegalArgumentException("head_dim " + headDim + " is odd; rotary embeddings rotate pairs");
        if (!(rmsNormEps > 0) || !(ropeTheta > 0)) {
            throw new IllegalArgumentException(
                    "rms_norm_eps " + rmsNormEps + " and rope_theta " + ropeTheta + " must be positive");
        }
    }

    /** A Llama config with HF's defaults for the optional fields (head_dim = hidden / heads, no biases). */
    public static LlamaConfig llama(
            int vocab,
            int hidden,
            int intermediate,
            int layers,
            int heads,
            int kvHeads,
            double eps,
            double ropeTheta,
            int maxPositions,
            boolean tied) {
        return new LlamaConfig(
                LLAMA,
                vocab,
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                hidden / heads,
                eps,
                ropeTheta,
                maxPositions,
                tied,
                false,
                false);
    }

    /** A Qwen2 config: q/k/v biases, no output bias. */
    public static LlamaConfig qwen2(
            int vocab,
            int hidden,
            int intermediate,
            int layers,
            int heads,
            int kvHeads,
            double eps,
            double ropeTheta,
            int maxPositions,
            boolean tied) {
        return new LlamaConfig(
                QWEN2,
                vocab,
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                hidden / heads,
                eps,
                ropeTheta,
                maxPositions,
                tied,
                true,
                false);
    }

    /** Queries per key/value head. */
    public int groupSize() {
        return numHeads / numKeyValueHeads;
    }

    /** Width of the query projection's output (numHeads x headDim). */
    public int queryWidth() {
        return numHeads * headDim;
    }

    /** Width of each of the key and value projections' outputs (numKeyValueHeads x headDim). */
    public int keyValueWidth() {
        return numKeyValueHeads * headDim;
    }

    public static LlamaConfig read(Path configJson) throws IOException {
        try {
            return fromJson(Files.readString(configJson, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
        }
    }

    public static LlamaConfig fromJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("config is not valid JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException("config is not a JSON object");

        JsonNode archs = root.get("architectures");
        if (archs == null
                || !archs.isArray()
                || archs.size() != 1
                || !archs.get(0).isTextual()) {
            throw new IllegalArgumentException(
                    "config needs \"architectures\": [one of " + ARCHITECTURES + "], has " + archs);
        }
        String architecture = archs.get(0).textValue();
        if (!ARCHITECTURES.contains(architecture)) {
            throw new IllegalArgumentException(
                    "unsupported architecture '" + architecture + "' (supported: " + ARCHITECTURES + ")");
        }

        List<String> unsupported = new ArrayList<>();
        JsonNode ropeScaling = root.get("rope_scaling");
        if (ropeScaling != null && !ropeScaling.isNull()) {
            String type = text(ropeScaling, "rope_type", text(ropeScaling, "type", "?"));
            if (!type.equals("default")) unsupported.add("rope_scaling type '" + type + "'");
        }
        String act = text(root, "hidden_act", "silu");
        if (!act.equals("silu")) unsupported.add("hidden_act '" + act + "'");
        if (bool(root, "mlp_bias", false)) unsupported.add("mlp_bias true");
        if (bool(root, "use_sliding_window", false)) unsupported.add("use_sliding_window true");
        if (!unsupported.isEmpty())
            throw new IllegalArgumentException(
                    architecture + " config uses unsupported " + String.join(", ", unsupported));

        int hidden = integer(root, "hidden_size");
        int heads = integer(root, "num_attention_heads");
        boolean qwen = architecture.equals(QWEN2);
        boolean attentionBias = bool(root, "attention_bias", false);
        JsonNode headDim = root.get("head_dim");
        return new LlamaConfig(
                architecture,
                integer(root, "vocab_size"),
                hidden,
                integer(root, "intermediate_size"),
                integer(root, "num_hidden_layers"),
                heads,
                root.hasNonNull("num_key_value_heads") ? integer(root, "num_key_value_heads") : heads,
                headDim != null && !headDim.isNull() ? integer(root, "head_dim") : hidden / heads,
                number(root, "rms_norm_eps", 1e-6),
                number(root, "rope_theta", 10000.0),
                integer(root, "max_position_embeddings"),
                bool(root, "tie_word_embeddings", false),
                qwen || attentionBias,
                !qwen && attentionBias);
    }

    /** config.json as transformers writes it (the fields it needs to rebuild this model; float32 weights). */
    public String toJson() {
        boolean qwen = architecture.equals(QWEN2);
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add(architecture);
        root.put("model_type", qwen ? "qwen2" : "llama");
        root.put("vocab_size", vocabSize);
        root.put("hidden_size", hiddenSize);
        root.put("intermediate_size", intermediateSize);
        root.put("num_hidden_layers", numLayers);
        root.put("num_attention_heads", numHeads);
        root.put("num_key_value_heads", numKeyValueHeads);
        root.put("head_dim", headDim);
        root.put("hidden_act", "silu");
        root.put("rms_norm_eps", rmsNormEps);
        root.put("rope_theta", ropeTheta);
        root.putNull("rope_scaling");
        root.put("max_position_embeddings", maxPositions);
        root.put("tie_word_embeddings", tieWordEmbeddings);
        if (!qwen) {
            root.put("attention_bias", outputBias);
            root.put("mlp_bias", false);
        } else {
            root.put("use_sliding_window", false);
        }
        root.put("torch_dtype", "float32");
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes config.json atomically (a temporary file renamed into place). */
    public void write(Path configJson) throws IOException {
        Path dir = configJson.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".config", ".tmp");
        try {
            Files.writeString(tmp, toJson(), StandardCharsets.UTF_8);
            Files.move(tmp, configJson, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) throw new IllegalArgumentException(field + " must be positive, is " + value);
    }

    private static int integer(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) throw new IllegalArgumentException("config lacks \"" + field + "\"");
        if (!n.isIntegralNumber() || !n.canConvertToInt())
            throw new IllegalArgumentException("\"" + field + "\" is " + n + ", not an integer");
        return n.intValue();
    }

    private static double number(JsonNode root, String field, double fallback) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return fallback;
        if (!n.isNumber()) throw new IllegalArgumentException("\"" + field + "\" is " + n + ", not a number");
        return n.doubleValue();
    }

    private static boolean bool(JsonNode root, String field, boolean fallback) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) return fallback;
        if (!n.isBoolean()) throw new IllegalArgumentException("\"" + field + "\" is " + n + ", not true/false");
        return n.booleanValue();
    }

    private static String text(JsonNode node, String field, String fallback) {
        JsonNode n = node.get(field);
        return n == null || n.isNull() ? fallback : n.asText().toLowerCase(Locale.ROOT);
    }
}
