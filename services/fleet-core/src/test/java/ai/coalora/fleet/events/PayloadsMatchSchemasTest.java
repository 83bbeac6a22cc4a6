package ai.coalora.fleet.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.events.Payloads.FileRef;
import ai.coalora.fleet.events.Payloads.Footprint;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.GgufChoice;
import ai.coalora.fleet.events.Payloads.GgufGroup;
import ai.coalora.fleet.events.Payloads.GgufTensors;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.events.Payloads.ModelRegistered;
import ai.coalora.fleet.events.Payloads.RetrainingRequested;
import ai.coalora.fleet.planning.QualityMeasure;
import ai.coalora.fleet.schema.EventSchemas;
import ai.coalora.fleet.security.Ed25519;
import ai.coalora.fleet.security.PackageManifest;
import ai.coalora.fleet.security.SigningKey;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/** What our records write is what the schemas accept, and the binary-mode codec round-trips. */
class PayloadsMatchSchemasTest {
    static final EventSchemas SCHEMAS = EventSchemas.load();
    static final String SHA = "0123456789abcdef".repeat(4);

    static void valid(String type, Object payload) {
        JsonNode json = Payloads.toJson(payload);
        assertEquals(List.of(), SCHEMAS.validate(type, json), type + ": " + json);
        assertEquals(json, Payloads.toJson(Payloads.read(json, payload.getClass())), type + " round trip");
    }

    @Test
    void everyRecordWritesSchemaValidData() {
        valid(
                EventTypes.CAPABILITIES,
                new DeviceCapabilities(
                        "dev-1",
                        64_000_000,
                        List.of(2, 3, 4, 8),
                        List.of("coalora-packed"),
                        "mid",
                        4_000_000L,
                        Map.of("site", "lab")));
        valid(
                EventTypes.CAPABILITIES,
                new DeviceCapabilities(
                        "dev-2",
                        64_000_000,
                        List.of(2, 3, 4, 8),
                        List.of("gguf"),
                        "mid",
                        null,
                        null,
                        List.of("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0", "Q4_0", "F16")));
        valid(
                EventTypes.ASSIGNMENT,
                new Assignment(
                        "dev-1",
                        "a-1",
                        "e-1",
                        true,
                        "most accurate",
                        SHA,
                        "production",
                        SHA,
                        3.1,
                        QualityMeasure.ACCURACY,
                        0.9,
                        "coalora-packed",
                        new Footprint(50, 5, 4, 59),
                        "r-1",
                        null));
        valid(
                EventTypes.ASSIGNMENT,
                new Assignment(
                        "dev-1",
                        "a-2",
                        "e-2",
                        false,
                        "no feasible configuration",
                        SHA,
                        "production",
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null));
        valid(
                EventTypes.ASSIGNMENT,
                new Assignment(
                        "dev-2",
                        "a-3",
                        "e-3",
                        true,
                        "as gguf",
                        SHA,
                        "production",
                        SHA,
                        2.5,
                        QualityMeasure.ACCURACY,
                        0.83,
                        "gguf",
                        new Footprint(52_936_704, 5, 4, 52_936_713),
                        null,
                        new ai.coalora.fleet.planning.GgufPlanning.GgufPlan(
                                "K_QUANTS", List.of("Q2_K", "Q4_0"), 3.875, 52_936_704)));
        valid(
                EventTypes.ADAPTER_READY,
                new AdapterReady(
                        "dev-1",
                        "a-1",
                        SHA,
                        SHA,
                        3.1,
                        SHA,
                        List.of(new Artifact(
                                "adapter-weights",
                                "adapter_model.safetensors",
                                SHA,
                                10,
                                "http://127.0.0.1:8080/api/blobs/" + SHA)),
                        signedManifest()));
        valid(
                EventTypes.TELEMETRY,
                EvaluationTelemetry.accuracy(
                        "dev-1", SHA, SHA, SHA, 0.91, 200, 3.5, 60_000_000, Instant.parse("2026-11-30T10:00:00Z")));
        FrontEntry packed = new FrontEntry(
                SHA, 3.1, QualityMeasure.ACCURACY, 0.9, List.of(2, 4), List.of("coalora-packed"), 50, 5, null);
        valid(
                EventTypes.MODEL_REGISTERED,
                new ModelRegistered(
                        SHA,
                        null,
                        "sentiment",
                        "all-MiniLM-L6-v2",
                        List.of(new FileRef("bundle.json", SHA, 10)),
                        3,
                        Instant.parse("2026-11-30T10:00:00Z"),
                        null,
                        List.of(packed)));
        valid(
                EventTypes.MODEL_PROMOTED,
                new ModelPromoted("production", SHA, null, "operator", "first", List.of(packed)));
        FrontEntry withGguf = new FrontEntry(
                SHA,
                3.1,
                QualityMeasure.ACCURACY,
                0.9,
                List.of(2, 8),
                List.of("coalora-packed", "gguf"),
                50,
                5,
                new GgufTensors(
                        1000,
                        List.of(
                                new GgufGroup(
                                        2,
                                        2560,
                                        List.of(
                                                new GgufChoice("K_QUANTS", "Q2_K", 840),
                                                new GgufChoice("LEGACY", "Q4_0", 1440))),
                                new GgufGroup(
                                        8,
                                        512,
                                        List.of(
                                                new GgufChoice("K_QUANTS", "Q8_0", 544),
                                                new GgufChoice("LEGACY", "Q8_0", 544))))));
        valid(
                EventTypes.MODEL_REGISTERED,
                new ModelRegistered(
                        SHA,
                        null,
                        "sentiment",
                        "all-MiniLM-L6-v2",
                        List.of(new FileRef("bundle.json", SHA, 10)),
                        1,
                        Instant.parse("2026-12-01T10:00:00Z"),
                        null,
                        List.of(withGguf)));
        valid(
                EventTypes.MODEL_PROMOTED,
                new ModelPromoted("production", SHA, null, "operator", "gguf", List.of(withGguf)));
        valid(
                EventTypes.DEVICE_STATUS,
                new Payloads.DeviceStatus(
                        "dev-1",
                        "a-1",
                        SHA,
                        SHA,
                        SHA,
                        Payloads.DeviceStatus.APPLIED,
                        "ok",
                        Instant.parse("2026-11-30T10:00:00Z")));
        valid(EventTypes.DEVICE_TARGET, new Payloads.DeviceTarget("dev-1", SHA, "r-1", 2, "rollout r-1 wave 2", true));
        valid(
                EventTypes.DEVICE_TARGET,
                new Payloads.DeviceTarget("dev-1", null, null, null, "back to production", null));
        valid(
                EventTypes.RETRAINING_REQUESTED,
                new RetrainingRequested("r-1", SHA, List.of(SHA), "fleet accuracy below prediction", null));
        valid(
                EventTypes.RETRAINING_REQUESTED,
                new RetrainingRequested(
                        "r-2",
                        SHA,
                        List.of(),
                        "front coverage",
                        null,
                        List.of(new Payloads.CoverageBudget(3.52, List.of(2, 3, 4, 8), 12))));
    }

    @Test
    void qualityTravelsWithItsMeasureAndAccuracyStaysReadableForOlderConsumers() throws Exception {
        FrontEntry perplexity = new FrontEntry(
                SHA, 4.3, QualityMeasure.PERPLEXITY, 87.5, List.of(4, 8), List.of("gguf"), 5_000_000, 400_000, null);
        valid(
                EventTypes.MODEL_PROMOTED,
                new ModelPromoted("production", SHA, null, "operator", "decoder", List.of(perplexity)));
        JsonNode entry = Payloads.toJson(perplexity);
        assertEquals("perplexity", entry.get("measure").asText());
        assertEquals(87.5, entry.get("predicted").asDouble());
        assertTrue(!entry.has("predictedAccuracy"), "a perplexity is never written as an accuracy: " + entry);
        valid(
                EventTypes.ASSIGNMENT,
                new Assignment(
                        "dev-3",
                        "a-4",
                        "e-4",
                        true,
                        "best predicted",
                        SHA,
                        "production",
                        SHA,
                        4.3,
                        QualityMeasure.PERPLEXITY,
                        87.5,
                        "gguf",
                        new Footprint(5_000_000, 400_000, 0, 5_400_000),
                        null,
                        null));
        EvaluationTelemetry measured = new EvaluationTelemetry(
                "dev-3",
                SHA,
                SHA,
                SHA,
                QualityMeasure.PERPLEXITY,
                91.2,
                4096,
                2.5,
                80_000_000,
                Instant.parse("2026-12-07T10:00:00Z"),
                41.5);
        valid(EventTypes.TELEMETRY, measured);

        // an accuracy front entry carries predictedAccuracy too, and one written before measures existed reads as
        // accuracy
        JsonNode accuracy = Payloads.toJson(new FrontEntry(
                SHA, 3.1, QualityMeasure.ACCURACY, 0.9, List.of(2, 4), List.of("coalora-packed"), 50, 5, null));
        assertEquals(0.9, accuracy.get("predictedAccuracy").asDouble());
        var older = accuracy.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) older).remove(List.of("measure", "predicted"));
        FrontEntry read = Payloads.read(older, FrontEntry.class);
        assertEquals(QualityMeasure.ACCURACY, read.measure());
        assertEquals(0.9, read.predicted());

        // what the schemas refuse: a perplexity entry without its value, an unknown measure, accuracy telemetry without
        // it
        var noValue = (com.fasterxml.jackson.databind.node.ObjectNode) entry.deepCopy();
        noValue.remove("predicted");
        assertTrue(
                SCHEMAS
                        .validate(
                                EventTypes.MODEL_PROMOTED,
                                Payloads.JSON
                                        .createObjectNode()
                                        .put("alias", "production")
                                        .put("modelVersion", SHA)
                                        .put("actor", "a")
                                        .put("reason", "r")
                                        .set(
                                                "front",
                                                Payloads.JSON.createArrayNode().add(noValue)))
                        .stream()
                        .anyMatch(p -> p.contains("predicted")),
                "a perplexity entry must carry predicted");
        var unknown = (com.fasterxml.jackson.databind.node.ObjectNode) Payloads.toJson(measured);
        unknown.put("measure", "bleu");
        assertTrue(!SCHEMAS.validate(EventTypes.TELEMETRY, unknown).isEmpty(), "unknown measure");
        var noAccuracy = (com.fasterxml.jackson.databind.node.ObjectNode) Payloads.toJson(EvaluationTelemetry.accuracy(
                "dev-1", SHA, SHA, SHA, 0.91, 200, 3.5, 60_000_000, Instant.parse("2026-11-30T10:00:00Z")));
        noAccuracy.remove("accuracy");
        assertTrue(
                SCHEMAS.validate(EventTypes.TELEMETRY, noAccuracy).stream().anyMatch(p -> p.contains("accuracy")),
                "accuracy telemetry must carry accuracy for older consumers");
    }

    @Test
    void binaryModeRoundTrip() throws Exception {
        CloudEvent e = CloudEvent.create(
                "/test",
                EventTypes.CAPABILITIES,
                "dev-1",
                SCHEMAS.dataschema(EventTypes.CAPABILITIES),
                Payloads.toJson(
                        new DeviceCapabilities("dev-1", 1, List.of(4), List.of("coalora-packed"), "low", null, null)));
        ConsumerRecord<String, byte[]> r = new ConsumerRecord<>(
                "t",
                0,
                0,
                0,
                TimestampType.CREATE_TIME,
                0,
                0,
                "dev-1",
                KafkaCloudEvents.value(e),
                KafkaCloudEvents.headers(e),
                Optional.empty());
        CloudEvent back = KafkaCloudEvents.decode(r);
        // data compares as text: a long written may come back as an int node
        assertEquals(
                new CloudEvent(e.id(), e.source(), e.type(), e.time(), e.subject(), e.dataschema(), back.data()), back);
        assertEquals(e.data().toString(), back.data().toString());
        assertEquals("1.0", new String(r.headers().lastHeader("ce_specversion").value(), StandardCharsets.UTF_8));
    }

    @Test
    void unreadableRecordsSayWhy() {
        CloudEvent e =
                CloudEvent.create("/test", EventTypes.CAPABILITIES, "dev-1", null, Payloads.JSON.createObjectNode());
        assertUnreadable("ce_specversion", new RecordHeaders(), "{}".getBytes());
        assertUnreadable("not JSON", KafkaCloudEvents.headers(e), "{oops".getBytes());
        assertUnreadable("not a JSON object", KafkaCloudEvents.headers(e), "[1,2]".getBytes());
        assertUnreadable("over the limit", KafkaCloudEvents.headers(e), new byte[KafkaCloudEvents.MAX_DATA_BYTES + 1]);
        RecordHeaders badTime = new RecordHeaders(KafkaCloudEvents.headers(e).toArray());
        badTime.remove("ce_time");
        badTime.add("ce_time", "yesterday".getBytes());
        assertUnreadable("RFC 3339", badTime, "{}".getBytes());
    }

    static void assertUnreadable(String expected, org.apache.kafka.common.header.Headers headers, byte[] value) {
        ConsumerRecord<String, byte[]> r = new ConsumerRecord<>(
                "t", 0, 0, 0, TimestampType.CREATE_TIME, 0, value.length, "k", value, headers, Optional.empty());
        try {
            KafkaCloudEvents.decode(r);
        } catch (KafkaCloudEvents.Unreadable u) {
            assertTrue(u.getMessage().contains(expected), u.getMessage());
            return;
        }
        throw new AssertionError("decoded a record that should be unreadable (" + expected + ")");
    }

    /** A manifest signed as the generator signs one, through a root-delegated online key. */
    static PackageManifest.Signed signedManifest() {
        KeyPair root = Ed25519.generate(), online = Ed25519.generate();
        Instant now = Instant.parse("2026-12-07T00:00:00Z");
        return new PackageManifest(
                        SHA,
                        SHA,
                        List.of("dev-1"),
                        List.of(new PackageManifest.File("adapter-weights", "adapter_model.safetensors", SHA, 10)),
                        42,
                        now.plusSeconds(86_400))
                .sign(
                        online.getPrivate(),
                        SigningKey.delegate(root.getPrivate(), online.getPublic(), now.plusSeconds(864_000)));
    }
}
