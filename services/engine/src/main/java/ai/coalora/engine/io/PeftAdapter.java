package ai.coalora.engine.io;

import ai.coalora.engine.io.Safetensors.Tensor;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A LoRA adapter in Hugging Face PEFT's directory layout ({@code adapter_config.json} + {@code
 * adapter_model.safetensors}), so that {@code PeftModel.from_pretrained(base, dir)} loads what we trained and
 * results can be checked in Python.
 *
 * <p>{@code pairs} is keyed by the adapted weight's Hugging Face parameter name, e.g.
 * {@code encoder.layer.3.attention.self.query.weight}; its tensors are stored as
 * {@code base_model.model.encoder.layer.3.attention.self.query.lora_A.weight} (rank x in) and {@code .lora_B.weight}
 * (out x rank). The update is {@code W + (alpha / rank) * B A}.
 *
 * @param taskType PEFT's task type, e.g. {@code SEQ_CLS}, or null
 * @param metadata free-form strings stored in the safetensors header (e.g. the quantization configuration)
 */
public record PeftAdapter(
        String baseModel,
        int rank,
        double alpha,
        List<String> targetModules,
        String taskType,
        Map<String, LoraPair> pairs,
        Map<String, String> metadata) {

    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";
    private static final String A_SUFFIX = ".lora_A.weight", B_SUFFIX = ".lora_B.weight";
    /** transformers / PEFT expect this safetensors metadata entry; we add it on write and drop it on read. */
    private static final String FORMAT_KEY = "format", FORMAT = "pt";

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    /** The low-rank factors of one weight matrix W (out x in), row-major: A is rank x in, B is out x rank. */
    public record LoraPair(int out, int in, float[] a, float[] b) {
        @Override
        public boolean equals(Object o) {
            return o instanceof LoraPair p
                    && out == p.out
                    && in == p.in
                    && Arrays.equals(a, p.a)
                    && Arrays.equals(b, p.b);
        }

        @Override
        public int hashCode() {
            return Objects.hash(out, in, Arrays.hashCode(a), Arrays.hashCode(b));
        }

        @Override
        public String toString() {
            return "LoraPair[" + out + " x " + in + "]";
        }
    }

    public PeftAdapter {
        Objects.requireNonNull(baseModel, "baseModel");
        if (rank < 1) throw new IllegalArgumentException("LoRA rank must be >= 1, got " + rank);
        if (!(alpha > 0) || Double.isInfinite(alpha))
            throw new IllegalArgumentException("LoRA alpha must be a positive number, got " + alpha);
        targetModules = List.copyOf(targetModules);
        if (targetModules.isEmpty()) throw new IllegalArgumentException("no target modules");
        pairs = Collections.unmodifiableSortedMap(new TreeMap<>(pairs));
        metadata = Collections.unmodifiableSortedMap(new TreeMap<>(metadata));
        if (metadata.containsKey(FORMAT_KEY))
            throw new IllegalArgumentException("metadata key '" + FORMAT_KEY + "' is reserved");
        for (Map.Entry<String, LoraPair> entry : pairs.entrySet()) {
            String module = modulePath(entry.getKey());
            // PEFT only loads weights of modules its target_modules select; others would be silently dropped.
            if (targetModules.stream().noneMatch(t -> module.equals(t) || module.endsWith("." + t))) {
                throw new IllegalArgumentException(
                        entry.getKey() + " matches none of the target modules " + targetModules);
            }
            LoraPair pair = entry.getValue();
            if (pair.out < 1
                    || pair.in < 1
                    || pair.a.length != (long) rank * pair.in
                    || pair.b.length != (long) pair.out * rank) {
                throw new IllegalArgumentException(
                        entry.getKey() + ": A has " + pair.a.length + " and B " + pair.b.length + " values, expected "
                                + rank + " x " + pair.in + " and " + pair.out + " x " + rank);
            }
        }
    }

    /**
     * Writes the adapter into {@code dir} (created if needed). Each file is replaced atomically and the config,
     * which makes the directory an adapter, goes last: it is removed first, so a reader meanwhile finds no
     * adapter rather than new weights under an old config.
     */
    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(CONFIG_FILE));

        Map<String, Tensor> tensors = new TreeMap<>();
        pairs.forEach((weight, pair) -> {
            String module = PREFIX + modulePath(weight);
            tensors.put(module + A_SUFFIX, Tensor.ofFloats(pair.a, rank, pair.in));
            tensors.put(module + B_SUFFIX, Tensor.ofFloats(pair.b, pair.out, rank));
        });
        Map<String, String> fileMetadata = new TreeMap<>(metadata);
        fileMetadata.put(FORMAT_KEY, FORMAT);
        Safetensors.write(dir.resolve(WEIGHTS_FILE), tensors, fileMetadata);

        AtomicFiles.write(dir.resolve(CONFIG_FILE), JSON.writeValueAsBytes(config()));
    }

    /** PEFT's LoraConfig fields; dropout is off and inference_mode on, as for a finished adapter. */
    private ObjectNode config() {
        ObjectNode config = JSON.createObjectNode();
        config.put("peft_type", "LORA");
        config.put("base_model_name_or_path", baseModel);
        config.put("task_type", taskType);
        config.put("r", rank);
        if (alpha == Math.rint(alpha)) config.put("lora_alpha", (long) alpha); // PEFT writes an integer alpha
        else config.put("lora_alpha", alpha);
        targetModules.forEach(config.putArray("target_modules")::add);
        config.put("bias", "none");
        config.put("fan_in_fan_out", false);
        config.put("lora_dropout", 0.0);
        config.put("inference_mode", true);
        return config;
    }

    /**
     * Reads and validates an adapter directory: a supported config, and for every lora_A a lora_B of the same
     * module with shapes consistent with the configured rank.
     */
    public static PeftAdapter read(Path dir) throws IOException {
        Path configFile = dir.resolve(CONFIG_FILE);
        if (!Files.exists(configFile))
            throw new IOException(dir + ": no " + CONFIG_FILE + ", not a (complete) PEFT adapter");
        byte[] config = Files.readAllBytes(configFile);
        Path weightsFile = dir.resolve(WEIGHTS_FILE);
        Safetensors.Contents weights = Safetensors.read(weightsFile);
        return parse(config, configFile.toString(), weights, weightsFile.toString(), dir.toString());
    }

    /**
     * The same validation on the two files' bytes (e.g. as a device received them); errors name the files
     * by {@value #CONFIG_FILE} and {@value #WEIGHTS_FILE}.
     */
    public static PeftAdapter fromBytes(byte[] configJson, byte[] weightsFile) {
        return parse(
                configJson,
                CONFIG_FILE,
                Safetensors.fromBytes(weightsFile, WEIGHTS_FILE),
                WEIGHTS_FILE,
                "PEFT adapter");
    }

    private static PeftAdapter parse(
            byte[] configJson, String configFile, Safetensors.Contents weights, String weightsFile, String dir) {
        JsonNode config;
        try {
            config = JSON.readTree(configJson);
        } catch (IOException e) {
            throw new IllegalArgumentException(configFile + ": not valid JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
        if (config == null || !config.isObject())
            throw new IllegalArgumentException(configFile + ": not a JSON object");
        ConfigReader fields = new ConfigReader(config, configFile);
        fields.require("peft_type", "LORA");
        fields.require("bias", "none"); // trained biases would be extra tensors we do not read
        if (config.path("fan_in_fan_out").asBoolean(false))
            throw fields.invalid("fan_in_fan_out = true (transposed factors) is not supported");
        if (config.path("rank_pattern").size() > 0
                || config.path("alpha_pattern").size() > 0) {
            throw fields.invalid("per-module rank_pattern / alpha_pattern is not supported");
        }
        int rank = fields.positiveInt("r");
        double alpha = fields.positiveNumber("lora_alpha");
        List<String> targets = fields.strings("target_modules");
        String baseModel = config.path("base_model_name_or_path").asText("");
        String taskType =
                config.path("task_type").isTextual() ? config.get("task_type").textValue() : null;

        Map<String, LoraPair> pairs = new TreeMap<>();
        for (Map.Entry<String, Tensor> entry : weights.tensors().entrySet()) {
            String name = entry.getKey();
            if (!name.startsWith(PREFIX) || !(name.endsWith(A_SUFFIX) || name.endsWith(B_SUFFIX))) {
                throw new IllegalArgumentException(weightsFile + ": tensor '" + name + "' is not a LoRA A or B factor");
            }
            if (name.endsWith(B_SUFFIX)) {
                String a = name.substring(0, name.length() - B_SUFFIX.length()) + A_SUFFIX;
                if (!weights.tensors().containsKey(a))
                    throw new IllegalArgumentException(weightsFile + ": '" + name + "' has no matching '" + a + "'");
                continue; // paired below, from its A
            }
            String module = name.substring(PREFIX.length(), name.length() - A_SUFFIX.length());
            String b = PREFIX + module + B_SUFFIX;
            Tensor aTensor = entry.getValue(), bTensor = weights.tensors().get(b);
            if (bTensor == null)
                throw new IllegalArgumentException(weightsFile + ": '" + name + "' has no matching '" + b + "'");
            long[] aShape = aTensor.shape(), bShape = bTensor.shape();
            if (aShape.length != 2 || bShape.length != 2 || aShape[0] != rank || bShape[1] != rank) {
                throw new IllegalArgumentException(weightsFile + ": module '" + module + "' has A "
                        + Arrays.toString(aShape) + " and B " + Arrays.toString(bShape)
                        + ", inconsistent with rank r = " + rank + " (A must be r x in, B out x r)");
            }
            pairs.put(
                    module + ".weight",
                    new LoraPair(
                            (int) bShape[0],
                            (int) aShape[1],
                            floats(aTensor, name, weightsFile),
                            floats(bTensor, b, weightsFile)));
        }
        Map<String, String> metadata = new TreeMap<>(weights.metadata());
        metadata.remove(FORMAT_KEY);
        try {
            return new PeftAdapter(baseModel, rank, alpha, targets, taskType, pairs, metadata);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
    }

    /** A weight's module path: its parameter name without the trailing ".weight". */
    private static String modulePath(String weightName) {
        if (!weightName.endsWith(".weight"))
            throw new IllegalArgumentException("not a weight parameter name: " + weightName);
        return weightName.substring(0, weightName.length() - ".weight".length());
    }

    private static float[] floats(Tensor tensor, String name, String file) {
        if (tensor.dtype() != Safetensors.Dtype.F32)
            throw new IllegalArgumentException(file + ": '" + name + "' is " + tensor.dtype() + ", not floating point");
        return tensor.floats();
    }

    /** Typed access to config fields, each failure naming the file and the field. */
    private record ConfigReader(JsonNode config, String file) {
        IllegalArgumentException invalid(String problem) {
            return new IllegalArgumentException(file + ": " + problem);
        }

        void require(String field, String expected) {
            if (!expected.equals(config.path(field).asText(null)))
                throw invalid(field + " is " + config.get(field) + ", expected \"" + expected + "\"");
        }

        int positiveInt(String field) {
            JsonNode node = config.path(field);
            if (!node.canConvertToInt() || !node.isIntegralNumber() || node.intValue() < 1)
                throw invalid(field + " is " + node + ", not a positive integer");
            return node.intValue();
        }

        double positiveNumber(String field) {
            JsonNode node = config.path(field);
            if (!node.isNumber() || !(node.doubleValue() > 0))
                throw invalid(field + " is " + node + ", not a positive number");
            return node.doubleValue();
        }

        List<String> strings(String field) {
            JsonNode node = config.path(field);
            List<String> values = new ArrayList<>();
            for (JsonNode value : node) {
                if (!value.isTextual()) throw invalid(field + " holds " + value + ", not a string");
                values.add(value.textValue());
            }
            if (!node.isArray() || values.isEmpty())
                throw invalid(field + " is " + node + ", not a non-empty list of module names");
            return values;
        }
    }
}
