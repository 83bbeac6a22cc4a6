package ai.coalora.engine.quant;

import ai.coalora.common.Sha256;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A whole-model quantization configuration: one {@link QuantConfig} per quantized matrix and the quantizer.
 *
 * <p>JSON form ({@value #FORMAT}):
 * <pre>{"format":"coalora.quant-config/v1","quantizer":"nf","averageBits":3.0012,
 *  "matrices":[{"name":"...query.weight","rows":384,"cols":384,"b":3,"b0":8,"b1":"fp16","B0":64,"B1":256}, ...]}</pre>
 * {@code averageBits} is written for humans and, when present on read, must match the recomputed value within
 * {@value #AVERAGE_BITS_TOLERANCE} (so a value rounded to 4 decimals is accepted). Unknown fields are errors.
 */
public record ModelQuantConfig(QuantizerKind quantizer, List<Entry> matrices) {
    public static final String FORMAT = "coalora.quant-config/v1";
    public static final double AVERAGE_BITS_TOLERANCE = 5e-5;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Set<String> TOP_FIELDS = Set.of("format", "quantizer", "averageBits", "matrices");
    private static final Set<String> MATRIX_FIELDS = Set.of("name", "rows", "cols", "b", "b0", "b1", "B0", "B1");

    /** One quantized matrix and its configuration. */
    public record Entry(MatrixSpec matrix, QuantConfig config) {
        public Entry {
            if (matrix == null || config == null) throw new IllegalArgumentException("entry needs matrix and config");
        }
    }

    public ModelQuantConfig {
        if (quantizer == null) throw new IllegalArgumentException("quantizer must not be null");
        if (matrices == null || matrices.isEmpty()) throw new IllegalArgumentException("matrices must not be empty");
        matrices = List.copyOf(matrices);
        Set<String> names = new HashSet<>();
        for (Entry e : matrices) {
            if (!names.add(e.matrix().name())) {
                throw new IllegalArgumentException(
                        "duplicate matrix name: " + e.matrix().name());
            }
        }
    }

    /** Every matrix with the same configuration. */
    public static ModelQuantConfig uniform(List<MatrixSpec> specs, QuantConfig config, QuantizerKind quantizer) {
        if (specs == null) throw new IllegalArgumentException("specs must not be null");
        return new ModelQuantConfig(
                quantizer, specs.stream().map(s -> new Entry(s, config)).toList());
    }

    /** Numel-weighted mean of {@link QuantConfig#bitsPerWeight()} over these (quantized) matrices only. */
    public double averageBits() {
        long units = 0; // exact: bits in units of 1/16384
        long numel = 0;
        for (Entry e : matrices) {
            units += e.matrix().numel() * e.config().bitUnitsPerWeight();
            numel += e.matrix().numel();
        }
        return units / ((double) numel * QuantConfig.BIT_UNITS_PER_BIT);
    }

    public long totalNumel() {
        return matrices.stream().mapToLong(e -> e.matrix().numel()).sum();
    }

    /** The configuration of the named matrix. */
    public QuantConfig configOf(String name) {
        for (Entry e : matrices) if (e.matrix().name().equals(name)) return e.config();
        throw new IllegalArgumentException("no matrix named " + name);
    }

    public Map<String, QuantConfig> byName() {
        Map<String, QuantConfig> out = new LinkedHashMap<>();
        for (Entry e : matrices) out.put(e.matrix().name(), e.config());
        return out;
    }

    /** Content address of this configuration: the sha256 (hex) of {@link #toJson()}; equal configurations share it. */
    public String configId() {
        return Sha256.of(toJson());
    }

    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("quantizer", quantizer.jsonName());
        root.put("averageBits", averageBits());
        ArrayNode list = root.putArray("matrices");
        for (Entry e : matrices) {
            QuantConfig c = e.config();
            list.addObject()
                    .put("name", e.matrix().name())
                    .put("rows", e.matrix().rows())
                    .put("cols", e.matrix().cols())
                    .put("b", c.b())
                    .put("b0", c.b0())
                    .put("b1", c.b1().jsonName())
                    .put("B0", c.B0())
                    .put("B1", c.B1());
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses and validates the JSON form; every problem is an IllegalArgumentException naming the field. */
    public static ModelQuantConfig fromJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("quant config: invalid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject())
            throw new IllegalArgumentException("quant config: expected a JSON object");
        rejectUnknown(root, TOP_FIELDS, "quant config");
        String format = text(root, "format", "quant config");
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException(
                    "quant config: unknown format '" + format + "' (expected " + FORMAT + ")");
        }
        QuantizerKind quantizer;
        try {
            quantizer = QuantizerKind.fromJsonName(text(root, "quantizer", "quant config"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("quant config: field 'quantizer': " + e.getMessage(), e);
        }
        JsonNode list = root.get("matrices");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException("quant config: field 'matrices' must be a non-empty array");
        }
        List<Entry> entries = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = "quant config: matrices[" + i + "]";
            if (!m.isObject()) throw new IllegalArgumentException(where + ": expected an object");
            rejectUnknown(m, MATRIX_FIELDS, where);
            String name = text(m, "name", where);
            where += " (" + name + ")";
            if (!names.add(name)) throw new IllegalArgumentException(where + ": duplicate matrix name");
            try {
                MatrixSpec spec = new MatrixSpec(name, integer(m, "rows", where), integer(m, "cols", where));
                QuantConfig config = new QuantConfig(
                        integer(m, "b", where),
                        integer(m, "b0", where),
                        ScaleType.fromJsonName(text(m, "b1", where)),
                        integer(m, "B0", where),
                        integer(m, "B1", where));
                entries.add(new Entry(spec, config));
            } catch (IllegalArgumentException e) {
                throw e.getMessage().startsWith(where)
                        ? e
                        : new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
        }
        ModelQuantConfig config = new ModelQuantConfig(quantizer, entries);
        JsonNode avg = root.get("averageBits");
        if (avg != null) {
            if (!avg.isNumber())
                throw new IllegalArgumentException("quant config: field 'averageBits' must be a number");
            if (Math.abs(avg.asDouble() - config.averageBits()) > AVERAGE_BITS_TOLERANCE) {
                throw new IllegalArgumentException("quant config: field 'averageBits' is " + avg.asDouble()
                        + " but the matrices give " + config.averageBits());
            }
        }
        return config;
    }

    public static ModelQuantConfig read(Path path) throws IOException {
        try {
            return fromJson(Files.readString(path, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
        }
    }

    public void write(Path path) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Files.writeString(path, toJson() + "\n", StandardCharsets.UTF_8);
    }

    private static void rejectUnknown(JsonNode node, Set<String> allowed, String where) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) throw new IllegalArgumentException(where + ": unknown field '" + f + "'");
        }
    }

    private static String text(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(where + ": field '" + field + "' must be a string");
        }
        return v.asText();
    }

    private static int integer(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new IllegalArgumentException(where + ": field '" + field + "' must be an integer");
        }
        return v.asInt();
    }
}
