package ai.coalora.fleet.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The schemas reject typical malformed payloads, and each problem names the field. */
class MalformedPayloadsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final EventSchemas SCHEMAS = EventSchemas.load();
    private static final String CAPS = "ai.coalora.device.capabilities";
    private static final String ASSIGNMENT = "ai.coalora.assignment";
    private static final String READY = "ai.coalora.adapter.ready";
    private static final String TELEMETRY = "ai.coalora.telemetry.evaluation";
    private static final String REGISTERED = "ai.coalora.model.registered";
    private static final String PROMOTED = "ai.coalora.model.promoted";
    private static final String RETRAIN = "ai.coalora.retraining.requested";

    /** A full recorded event of the type (envelope + data), a fresh copy. */
    private static ObjectNode event(String type) {
        // the first "full" recording of the type (feasible for assignments): every optional field present
        try (var files = Files.list(SchemaFiles.recorded().resolve(type))) {
            Path file = files.filter(f -> f.getFileName().toString().contains("full"))
                    .sorted()
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no full recorded event of " + type));
            return (ObjectNode) MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode data(String type) {
        return (ObjectNode) event(type).get("data");
    }

    private static List<String> invalid(String type, Consumer<ObjectNode> edit) {
        ObjectNode data = data(type);
        assertEquals(List.of(), SCHEMAS.validate(type, data), "the unedited payload is valid");
        edit.accept(data);
        List<String> problems = SCHEMAS.validate(type, data);
        assertFalse(problems.isEmpty(), "expected " + type + " to reject " + data);
        return problems;
    }

    private static void assertNames(List<String> problems, String field, String containing) {
        assertTrue(
                problems.stream().anyMatch(p -> p.startsWith(field + ": ") && p.contains(containing)),
                "expected a problem '" + field + ": ...' containing '" + containing + "', got " + problems);
    }

    static Stream<Arguments> requiredFields() {
        List<Arguments> out = new ArrayList<>();
        for (String type : SCHEMAS.types()) {
            for (JsonNode field : SCHEMAS.schemaNode(type).path("required")) {
                out.add(Arguments.of(type, field.asText()));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} without {1}")
    @MethodSource("requiredFields")
    void missingRequiredFieldIsNamed(String type, String field) {
        List<String> problems = invalid(type, d -> d.remove(field));
        assertEquals(List.of(field + ": is required"), problems);
    }

    @Test
    void wrongTypes() {
        assertEquals(
                List.of("memoryBytes: string found, integer expected"),
                invalid(CAPS, d -> d.put("memoryBytes", "1073741824")));
        assertNames(invalid(CAPS, d -> d.put("memoryBytes", 1.5)), "memoryBytes", "integer expected");
        assertNames(invalid(ASSIGNMENT, d -> d.put("feasible", "true")), "feasible", "boolean expected");
        assertNames(invalid(TELEMETRY, d -> d.put("accuracy", "0.9")), "accuracy", "number expected");
        assertNames(invalid(CAPS, d -> d.put("labels", "site=berlin")), "labels", "object expected");
        assertNames(invalid(CAPS, d -> d.with("labels").put("rack", 7)), "labels.rack", "string expected");
    }

    @Test
    void weightBitsOutsideTwoThreeFourEight() {
        assertNames(invalid(CAPS, d -> d.putArray("weightBits").add(4).add(5)), "weightBits[1]", "enumeration");
        assertNames(invalid(CAPS, d -> d.putArray("weightBits")), "weightBits", "at least 1");
        assertNames(invalid(CAPS, d -> d.putArray("weightBits").add(4).add(4)), "weightBits", "unique");
        assertNames(
                invalid(
                        PROMOTED,
                        d -> ((ObjectNode) d.withArray("front").get(0))
                                .putArray("weightBits")
                                .add(16)),
                "front[0].weightBits[0]",
                "enumeration");
    }

    @Test
    void badSha256() {
        String upper = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        assertNames(invalid(ASSIGNMENT, d -> d.put("configId", upper)), "configId", "^[0-9a-f]{64}$");
        assertNames(invalid(READY, d -> d.put("packageSha256", "abc123")), "packageSha256", "does not match");
        assertNames(
                invalid(
                        READY,
                        d -> ((ObjectNode) d.withArray("artifacts").get(0)).put("sha256", "sha256:" + "0".repeat(64))),
                "artifacts[0].sha256",
                "does not match");
        assertNames(invalid(REGISTERED, d -> d.put("modelVersion", "v1")), "modelVersion", "does not match");
        assertNames(
                invalid(REGISTERED, d -> d.put("parentVersion", "0".repeat(63))), "parentVersion", "does not match");
        assertNames(invalid(RETRAIN, d -> d.withArray("configIds").add("nope")), "configIds[2]", "does not match");
    }

    @Test
    void feasibleAssignmentWithoutItsConfiguration() {
        assertEquals(
                List.of("configId: is required when feasible is true"), invalid(ASSIGNMENT, d -> d.remove("configId")));
        assertNames(invalid(ASSIGNMENT, d -> d.remove("footprint")), "footprint", "is required when feasible is true");
        assertNames(invalid(ASSIGNMENT, d -> d.putNull("modelVersion")), "modelVersion", "string expected");
        // an infeasible one needs none of it, and may have a null model version
        ObjectNode infeasible = data(ASSIGNMENT);
        infeasible.put("feasible", false);
        for (String f : List.of("configId", "averageBits", "predictedAccuracy", "runtimeFormat", "footprint")) {
            infeasible.remove(f);
        }
        infeasible.putNull("modelVersion");
        assertEquals(List.of(), SCHEMAS.validate(ASSIGNMENT, infeasible));
    }

    @Test
    void negativeOrOutOfRangeNumbers() {
        assertNames(
                invalid(READY, d -> ((ObjectNode) d.withArray("artifacts").get(0)).put("bytes", -1)),
                "artifacts[0].bytes",
                "minimum value of 0");
        assertNames(
                invalid(ASSIGNMENT, d -> d.with("footprint").put("totalBytes", -5)), "footprint.totalBytes", "minimum");
        assertNames(invalid(CAPS, d -> d.put("memoryBytes", 0)), "memoryBytes", "minimum value of 1");
        assertNames(invalid(CAPS, d -> d.put("runtimeOverheadBytes", -1)), "runtimeOverheadBytes", "minimum");
        assertNames(invalid(TELEMETRY, d -> d.put("accuracy", 1.01)), "accuracy", "maximum value of 1");
        assertNames(invalid(TELEMETRY, d -> d.put("examples", 0)), "examples", "minimum value of 1");
        assertNames(invalid(TELEMETRY, d -> d.put("latencyMsPerExample", -0.1)), "latencyMsPerExample", "minimum");
        assertNames(invalid(ASSIGNMENT, d -> d.put("averageBits", 0.5)), "averageBits", "minimum value of 1");
        assertNames(
                invalid(PROMOTED, d -> ((ObjectNode) d.withArray("front").get(1)).put("adapterBytes", -1)),
                "front[1].adapterBytes",
                "minimum");
        assertNames(invalid(REGISTERED, d -> d.put("frontSize", 0)), "frontSize", "minimum value of 1");
    }

    @Test
    void stringsAndFormats() {
        assertNames(invalid(CAPS, d -> d.put("deviceId", "pixel 7a")), "deviceId", "does not match");
        assertNames(invalid(CAPS, d -> d.put("deviceId", "x".repeat(129))), "deviceId", "does not match");
        assertNames(invalid(CAPS, d -> d.put("computeClass", "ultra")), "computeClass", "enumeration");
        assertNames(
                invalid(CAPS, d -> d.putArray("runtimeFormats").add("GGUF")), "runtimeFormats[0]", "does not match");
        assertNames(invalid(ASSIGNMENT, d -> d.put("reason", "")), "reason", "at least 1");
        assertNames(invalid(ASSIGNMENT, d -> d.put("assignmentId", "")), "assignmentId", "at least 1");
        assertNames(
                invalid(READY, d -> ((ObjectNode) d.withArray("artifacts").get(0)).put("role", "weights")),
                "artifacts[0].role",
                "enumeration");
        assertNames(
                invalid(READY, d -> ((ObjectNode) d.withArray("artifacts").get(0)).put("url", "http://a b/c")),
                "artifacts[0].url",
                "uri-reference");
        assertNames(invalid(READY, d -> d.putArray("artifacts")), "artifacts", "at least 1");
        assertNames(invalid(TELEMETRY, d -> d.put("measuredAt", "yesterday")), "measuredAt", "date-time");
        assertNames(invalid(TELEMETRY, d -> d.put("measuredAt", "2025-11-03 09:31:07")), "measuredAt", "date-time");
        assertNames(invalid(PROMOTED, d -> d.put("alias", "Production")), "alias", "does not match");
        assertNames(invalid(REGISTERED, d -> d.putArray("files")), "files", "at least 1");
    }

    @Test
    void ggufTypes() {
        // optional: absent is valid (the full recording has none); ggml's names in upper case, any of them, unknown
        // ones too
        ObjectNode caps = data(CAPS);
        caps.putArray("ggufTypes")
                .add("Q2_K")
                .add("Q3_K")
                .add("Q4_K")
                .add("Q5_K")
                .add("Q6_K")
                .add("Q8_0")
                .add("Q4_0")
                .add("F16");
        assertEquals(List.of(), SCHEMAS.validate(CAPS, caps));
        caps.putArray("ggufTypes").add("IQ4_XS").add("MXFP4").add("BF16");
        assertEquals(List.of(), SCHEMAS.validate(CAPS, caps));

        assertNames(invalid(CAPS, d -> d.putArray("ggufTypes").add("q4_K")), "ggufTypes[0]", "does not match");
        assertNames(invalid(CAPS, d -> d.putArray("ggufTypes").add("Q4_0").add("")), "ggufTypes[1]", "does not match");
        assertNames(invalid(CAPS, d -> d.putArray("ggufTypes").add("Q4 0")), "ggufTypes[0]", "does not match");
        assertNames(invalid(CAPS, d -> d.putArray("ggufTypes").add(4)), "ggufTypes[0]", "string expected");
        assertNames(invalid(CAPS, d -> d.putArray("ggufTypes")), "ggufTypes", "at least 1");
        assertNames(invalid(CAPS, d -> d.putArray("ggufTypes").add("Q8_0").add("Q8_0")), "ggufTypes", "unique");
        assertNames(invalid(CAPS, d -> d.put("ggufTypes", "Q4_0")), "ggufTypes", "array expected");
    }

    @Test
    void frontGgufTensors() {
        ObjectNode promoted = data(PROMOTED);
        ObjectNode gguf = ((ObjectNode) promoted.withArray("front").get(0))
                .putObject("gguf")
                .put("denseBytes", 47794176);
        ObjectNode group =
                gguf.putArray("groups").addObject().put("weightBits", 2).put("weights", 3538944);
        group.putArray("choices")
                .addObject()
                .put("mapping", "K_QUANTS")
                .put("type", "Q2_K")
                .put("bytes", 1161216);
        assertEquals(List.of(), SCHEMAS.validate(PROMOTED, promoted));

        assertNames(
                invalid(
                        PROMOTED,
                        d -> ((ObjectNode) d.withArray("front").get(0))
                                .putObject("gguf")
                                .put("denseBytes", 1)),
                "front[0].gguf.groups",
                "is required");
        assertNames(
                invalid(
                        REGISTERED,
                        d -> d.putArray("front")
                                .addObject()
                                .put("configId", "f".repeat(64))
                                .put("averageBits", 4.5)
                                .put("predictedAccuracy", 0.9)
                                .put("weightBytes", 1)
                                .put("adapterBytes", 1)
                                .<ObjectNode>set(
                                        "weightBits", MAPPER.createArrayNode().add(4))
                                .<ObjectNode>set(
                                        "runtimeFormats",
                                        MAPPER.createArrayNode().add("gguf"))
                                .putObject("gguf")
                                .put("denseBytes", 0)
                                .putArray("groups")
                                .addObject()
                                .put("weightBits", 5)
                                .put("weights", 1)
                                .putArray("choices")
                                .addObject()
                                .put("mapping", "K_QUANTS")
                                .put("type", "q4_K")
                                .put("bytes", -1)),
                "front[0].gguf.groups[0].weightBits",
                "enumeration");
    }

    @Test
    void newerProducersMayAddProperties() {
        for (String type : SCHEMAS.types()) {
            ObjectNode data = data(type);
            data.put("addedByANewerProducer", true);
            data.putObject("somethingNew").put("nested", 1);
            assertEquals(List.of(), SCHEMAS.validate(type, data), type + " must tolerate unknown properties");
            ObjectNode event = event(type);
            event.put("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
            event.set("data", data);
            assertEquals(List.of(), SCHEMAS.validateEnvelope(event), type + " envelope must tolerate extensions");
        }
    }

    @Test
    void unknownTypes() {
        assertEquals(List.of("unknown event type 'ai.coalora.nope'"), SCHEMAS.validate("ai.coalora.nope", data(CAPS)));
        assertEquals(List.of("unknown event type 'null'"), SCHEMAS.validate(null, data(CAPS)));
        assertFalse(SCHEMAS.knows("ai.coalora.nope"));
        assertFalse(SCHEMAS.knows(null));
        assertTrue(SCHEMAS.knows(CAPS));
        assertThrows(IllegalArgumentException.class, () -> SCHEMAS.dataschema("ai.coalora.nope"));
        assertEquals("https://schemas.coalora.ai/ai.coalora.device.capabilities.schema.json", SCHEMAS.dataschema(CAPS));
        assertEquals(
                List.of("$: string found, object expected"),
                SCHEMAS.validate(CAPS, MAPPER.getNodeFactory().textNode("x")));
        assertEquals(List.of("$: data is missing"), SCHEMAS.validate(CAPS, null));
    }

    @Test
    void malformedEnvelopes() {
        ObjectNode event = event(CAPS);
        assertEquals(List.of(), SCHEMAS.validateEnvelope(event));

        assertEquals(List.of("id: is required"), SCHEMAS.validateEnvelope(edit(event, e -> e.remove("id"))));
        assertNames(SCHEMAS.validateEnvelope(edit(event, e -> e.put("id", ""))), "id", "at least 1");
        assertNames(SCHEMAS.validateEnvelope(edit(event, e -> e.put("specversion", "0.3"))), "specversion", "1.0");
        assertNames(SCHEMAS.validateEnvelope(edit(event, e -> e.put("time", "now"))), "time", "date-time");
        assertNames(SCHEMAS.validateEnvelope(edit(event, e -> e.put("source", "a b"))), "source", "uri-reference");
        assertEquals(List.of("type: is required"), SCHEMAS.validateEnvelope(edit(event, e -> e.remove("type"))));
        assertEquals(
                List.of("type: unknown event type 'com.example.other'"),
                SCHEMAS.validateEnvelope(edit(event, e -> e.put("type", "com.example.other"))));
        assertNames(
                SCHEMAS.validateEnvelope(edit(
                        event,
                        e -> e.put("dataschema", "https://schemas.coalora.ai/ai.coalora.assignment.schema.json"))),
                "dataschema",
                "is not the schema of type");
        assertNames(SCHEMAS.validateEnvelope(edit(event, e -> e.remove("data"))), "data", "is required");
        assertNames(SCHEMAS.validateEnvelope(edit(event, e -> e.put("data", "{}"))), "data", "object expected");
        assertEquals(
                List.of("data.memoryBytes: string found, integer expected"),
                SCHEMAS.validateEnvelope(edit(event, e -> e.with("data").put("memoryBytes", "1"))));
        assertEquals(
                List.of("data.deviceId: is required"),
                SCHEMAS.validateEnvelope(edit(event, e -> e.with("data").remove("deviceId"))));
        assertNames(SCHEMAS.validateEnvelope(MAPPER.createArrayNode()), "$", "JSON object");
        assertNames(SCHEMAS.validateEnvelope(null), "$", "JSON object");
    }

    @Test
    void problemsAreAllReported() {
        List<String> problems = invalid(CAPS, d -> {
            d.remove("deviceId");
            d.put("memoryBytes", -1);
            ArrayNode bits = d.putArray("weightBits");
            bits.add(5);
        });
        assertNames(problems, "deviceId", "is required");
        assertNames(problems, "memoryBytes", "minimum");
        assertNames(problems, "weightBits[0]", "enumeration");
    }

    private static ObjectNode edit(ObjectNode event, Consumer<ObjectNode> change) {
        ObjectNode copy = event.deepCopy();
        change.accept(copy);
        return copy;
    }
}
