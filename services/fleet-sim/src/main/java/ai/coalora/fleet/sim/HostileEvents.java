package ai.coalora.fleet.sim;

import ai.coalora.common.Sha256;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.DeviceStatus;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.events.Payloads.Footprint;
import ai.coalora.fleet.events.Payloads.RetrainingRequested;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.planning.QualityMeasure;
import ai.coalora.fleet.schema.EventSchemas;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Malformed and hostile events, the way a broken or malicious producer sends them, onto the topics devices and
 * services write: fuzzed bytes, wrong JSON types, payloads over the size limit, versions nobody registered,
 * records without CloudEvents headers, events of the wrong type for their topic, keys that disagree with the
 * subject. Every one must end in a dead-letter topic with a reason, once per consuming service. Each record's
 * key is {@code hostile-<n>}, so its dead letters can be matched to it.
 */
public final class HostileEvents {
    /** Who consumes each topic the events go to: each must dead-letter every hostile record. */
    public static final Map<Topic, List<String>> CONSUMERS = Map.of(
            Topic.CAPABILITIES, List.of("coalora-planner", "coalora-registry"),
            Topic.TELEMETRY, List.of("coalora-registry"),
            Topic.DEVICE_STATUS, List.of("coalora-registry"),
            Topic.ASSIGNMENTS, List.of("coalora-registry", "coalora-adapter-generator"),
            Topic.RETRAINING_REQUESTS, List.of("coalora-trainer"));
    /** Share of each topic in the mix (out of 20). */
    private static final List<Topic> MIX = List.of(
            Topic.CAPABILITIES,
            Topic.CAPABILITIES,
            Topic.CAPABILITIES,
            Topic.CAPABILITIES,
            Topic.CAPABILITIES,
            Topic.CAPABILITIES,
            Topic.CAPABILITIES,
            Topic.CAPABILITIES,
            Topic.TELEMETRY,
            Topic.TELEMETRY,
            Topic.TELEMETRY,
            Topic.TELEMETRY,
            Topic.DEVICE_STATUS,
            Topic.DEVICE_STATUS,
            Topic.DEVICE_STATUS,
            Topic.ASSIGNMENTS,
            Topic.ASSIGNMENTS,
            Topic.ASSIGNMENTS,
            Topic.ASSIGNMENTS,
            Topic.RETRAINING_REQUESTS);

    static final String[] KINDS = {
        "fuzzed bytes",
        "wrong JSON types",
        "unknown model version",
        "no CloudEvents headers",
        "wrong event type for the topic",
        "key differs from subject",
        "over the size limit",
        "NUL characters"
    };

    /** What was sent: per topic and per kind, and how many dead letters that calls for (records x consumers). */
    public record Sent(
            Map<String, Integer> byTopic, Map<String, Integer> byKind, int records, int expectedDeadLetters) {}

    private HostileEvents() {}

    /** Sends {@code count} hostile records (about 1 in 100 over the size limit), keys hostile-0..count-1. */
    public static Sent send(KafkaProducer<String, byte[]> producer, int count, long seed) {
        Random rnd = new Random(seed);
        Map<String, Integer> byTopic = new TreeMap<>(), byKind = new TreeMap<>();
        int expected = 0;
        for (int i = 0; i < count; i++) {
            Topic topic = MIX.get(i % MIX.size());
            int kind = i % 100 == 99 ? 6 : i % 100 == 49 ? 7 : rnd.nextInt(6);
            if (kind == 5 && topic == Topic.RETRAINING_REQUESTS) kind = 2; // keyed by request id, not by a subject
            String key = "hostile-" + i;
            ProducerRecord<String, byte[]> r = record(topic, kind, key, rnd);
            producer.send(r);
            byTopic.merge(topic.name(), 1, Integer::sum);
            byKind.merge(KINDS[kind], 1, Integer::sum);
            expected += CONSUMERS.get(topic).size();
        }
        producer.flush();
        return new Sent(byTopic, byKind, count, expected);
    }

    /** Key prefix of the numeric-extremes records. */
    public static final String EXTREME = "extreme-";

    /**
     * {@code count} capabilities events that pass their schema with every number at or near its bound and the longest
     * strings and lists it allows: the largest memory and overhead (their sum near 2^51), one byte of memory, every
     * bit-width, runtime formats and GGUF types nobody runs, the longest device id, hundreds of labels. Each must be
     * applied or dead-lettered with a reason by each consumer; none may stall one.
     */
    public static List<CloudEvent> extremes(int count) {
        long max = 1L << 50;
        List<CloudEvent> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String id = EXTREME + i;
            if (i % 7 == 6) id = (id + "-" + "x".repeat(128)).substring(0, 128);
            Map<String, String> labels = new TreeMap<>();
            if (i % 7 == 3) for (int k = 0; k < 300; k++) labels.put("label-" + k, "v".repeat(100));
            List<String> formats = switch (i % 7) {
                case 2 -> List.of("coalora-packed", "z".repeat(64), "gguf");
                case 5 -> List.of("unknown-runtime");
                default -> List.of("coalora-packed");
            };
            DeviceCapabilities d = new DeviceCapabilities(
                    id,
                    i % 7 == 1 ? 1L : max - i,
                    i % 7 == 1 ? List.of(8) : List.of(2, 3, 4, 8),
                    formats,
                    List.of("micro", "low", "mid", "high").get(i % 4),
                    i % 7 == 0 ? max : 0L,
                    labels);
            ObjectNode data = (ObjectNode) Payloads.toJson(d);
            if (i % 7 == 4)
                data.putArray("ggufTypes").add("Z9_" + "Q".repeat(28)).add("F16");
            out.add(CloudEvent.create(
                    "/fault-suite/extremes",
                    EventTypes.CAPABILITIES,
                    id,
                    EventSchemas.load().dataschema(EventTypes.CAPABILITIES),
                    data));
        }
        return out;
    }

    static ProducerRecord<String, byte[]> record(Topic topic, int kind, String key, Random rnd) {
        String type = topic.eventType();
        ObjectNode data = valid(topic, key, rnd);
        CloudEvent e = CloudEvent.create(
                "/coalora/hostile", type, key, EventSchemas.load().dataschema(type), data);
        return switch (kind) {
            case 0 -> { // fuzzed bytes: random, or a valid value cut short
                byte[] v = KafkaCloudEvents.value(e);
                byte[] bytes = rnd.nextBoolean()
                        ? Arrays.copyOf(v, 1 + rnd.nextInt(Math.max(1, v.length - 1)))
                        : randomBytes(rnd);
                yield new ProducerRecord<>(topic.name(), null, key, bytes, KafkaCloudEvents.headers(e));
            }
            case 1 -> { // wrong JSON types
                ObjectNode bad = data.deepCopy();
                switch (topic.name()) {
                    case "coalora.device.capabilities" -> bad.put("memoryBytes", "lots");
                    case "coalora.telemetry.evaluation" -> bad.put("accuracy", "high");
                    case "coalora.device.status" -> bad.put("status", 42);
                    case "coalora.assignments" -> bad.put("feasible", "yes");
                    default -> bad.put("configIds", "all");
                }
                CloudEvent w = CloudEvent.create(
                        "/coalora/hostile", type, key, EventSchemas.load().dataschema(type), bad);
                yield new ProducerRecord<>(
                        topic.name(), null, key, KafkaCloudEvents.value(w), KafkaCloudEvents.headers(w));
            }
            case 2 -> { // schema-valid, naming a version nobody registered (capabilities have none: a forged one with
                // 5-bit kernels)
                if (topic == Topic.CAPABILITIES) {
                    ObjectNode caps = data.deepCopy();
                    caps.putArray("weightBits").add(5);
                    CloudEvent w = CloudEvent.create(
                            "/coalora/hostile", type, key, EventSchemas.load().dataschema(type), caps);
                    yield new ProducerRecord<>(
                            topic.name(), null, key, KafkaCloudEvents.value(w), KafkaCloudEvents.headers(w));
                }
                yield new ProducerRecord<>(
                        topic.name(), null, key, KafkaCloudEvents.value(e), KafkaCloudEvents.headers(e));
            }
            case 3 -> new ProducerRecord<>(topic.name(), null, key, KafkaCloudEvents.value(e), new RecordHeaders());
            case 4 -> { // an event of another type
                String other = topic == Topic.CAPABILITIES ? EventTypes.TELEMETRY : EventTypes.CAPABILITIES;
                CloudEvent w = CloudEvent.create(
                        "/coalora/hostile", other, key, EventSchemas.load().dataschema(other), data);
                yield new ProducerRecord<>(
                        topic.name(), null, key, KafkaCloudEvents.value(w), KafkaCloudEvents.headers(w));
            }
            case 5 -> { // the key names one device, the event another
                CloudEvent w = CloudEvent.create(
                        "/coalora/hostile",
                        type,
                        "someone-else",
                        EventSchemas.load().dataschema(type),
                        data);
                yield new ProducerRecord<>(
                        topic.name(), null, key, KafkaCloudEvents.value(w), KafkaCloudEvents.headers(w));
            }
            case 7 -> { // NUL: in a string of schema-valid data (PostgreSQL cannot store it), or in the event's id
                if (rnd.nextBoolean()) {
                    ObjectNode nul = data.deepCopy();
                    if (topic == Topic.CAPABILITIES) nul.putObject("labels").put("fleet", "hostile\u0000label");
                    else if (topic == Topic.TELEMETRY) nul.put("configId", "\u0000".repeat(64));
                    else nul.put("reason", "forged\u0000reason");
                    CloudEvent w = CloudEvent.create(
                            "/coalora/hostile", type, key, EventSchemas.load().dataschema(type), nul);
                    yield new ProducerRecord<>(
                            topic.name(), null, key, KafkaCloudEvents.value(w), KafkaCloudEvents.headers(w));
                }
                CloudEvent w = CloudEvent.withId(
                        "forged\u0000id-" + key,
                        "/coalora/hostile",
                        type,
                        key,
                        EventSchemas.load().dataschema(type),
                        data);
                yield new ProducerRecord<>(
                        topic.name(), null, key, KafkaCloudEvents.value(w), KafkaCloudEvents.headers(w));
            }
            default -> { // over the 256 KiB limit
                ObjectNode huge = data.deepCopy();
                huge.put("padding", "x".repeat(KafkaCloudEvents.MAX_DATA_BYTES + 1024));
                CloudEvent w = CloudEvent.create(
                        "/coalora/hostile", type, key, EventSchemas.load().dataschema(type), huge);
                Headers h = KafkaCloudEvents.headers(w);
                yield new ProducerRecord<>(topic.name(), null, key, KafkaCloudEvents.value(w), h);
            }
        };
    }

    /** Schema-valid data for the topic, about versions that were never registered. */
    static ObjectNode valid(Topic topic, String key, Random rnd) {
        String version = sha(rnd), config = sha(rnd), pkg = sha(rnd);
        Object payload = switch (topic.name()) {
            case "coalora.device.capabilities" ->
                new DeviceCapabilities(
                        key,
                        1L << 26,
                        List.of(2, 3, 4, 8),
                        List.of("coalora-packed"),
                        "low",
                        0L,
                        Map.of("fleet", "hostile"));
            case "coalora.telemetry.evaluation" ->
                EvaluationTelemetry.accuracy(key, version, config, pkg, 0.99, 20, 5.0, 1L << 26, Instant.now());
            case "coalora.device.status" ->
                new DeviceStatus(
                        key, "forged-assignment", version, config, pkg, DeviceStatus.APPLIED, "forged", Instant.now());
            case "coalora.assignments" ->
                new Assignment(
                        key,
                        UUID.randomUUID().toString(),
                        "forged",
                        true,
                        "forged",
                        version,
                        "production",
                        config,
                        3.0,
                        QualityMeasure.ACCURACY,
                        0.9,
                        "coalora-packed",
                        new Footprint(1, 1, 1, 3),
                        null,
                        null);
            default -> new RetrainingRequested(key, version, List.of(), "forged", null);
        };
        return (ObjectNode) Payloads.toJson(payload);
    }

    /** A well-formed sha256 that addresses nothing: the hash of random bytes. */
    private static String sha(Random rnd) {
        byte[] b = new byte[32];
        rnd.nextBytes(b);
        return Sha256.of(b);
    }

    private static byte[] randomBytes(Random rnd) {
        byte[] b = new byte[1 + rnd.nextInt(300)];
        rnd.nextBytes(b);
        if (rnd.nextBoolean())
            b = ("{\"deviceId\": " + new String(b, StandardCharsets.ISO_8859_1)).getBytes(StandardCharsets.UTF_8);
        return b;
    }
}
