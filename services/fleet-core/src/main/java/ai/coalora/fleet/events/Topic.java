package ai.coalora.fleet.events;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Kafka topic with the settings the services create it with: latest-state topics are compacted and
 * keyed by device id (the newest record per device is its state), event streams keep records for a time.
 * Every input topic has a dead-letter twin ({@link #deadLetter()}) for records a consumer rejected.
 */
public record Topic(String name, String eventType, boolean compacted, Duration retention, int partitions) {
    public static final String DLQ_SUFFIX = ".dlq";
    /** Dead letters are kept long enough for an operator to look at them and replay. */
    public static final Duration DEAD_LETTER_RETENTION = Duration.ofDays(14);

    public static final Topic CAPABILITIES = state("coalora.device.capabilities", EventTypes.CAPABILITIES);
    public static final Topic ASSIGNMENTS = state("coalora.assignments", EventTypes.ASSIGNMENT);
    public static final Topic ADAPTERS_READY = state("coalora.adapters.ready", EventTypes.ADAPTER_READY);
    public static final Topic TELEMETRY =
            stream("coalora.telemetry.evaluation", EventTypes.TELEMETRY, Duration.ofDays(7));
    public static final Topic MODEL_VERSIONS = state("coalora.model.versions", EventTypes.MODEL_REGISTERED);
    public static final Topic MODEL_ALIASES = state("coalora.model.aliases", EventTypes.MODEL_PROMOTED);
    public static final Topic RETRAINING_REQUESTS =
            stream("coalora.retraining.requests", EventTypes.RETRAINING_REQUESTED, Duration.ofDays(30));

    public static final Topic DEVICE_STATUS = state("coalora.device.status", EventTypes.DEVICE_STATUS);
    public static final Topic DEVICE_TARGETS = state("coalora.device.targets", EventTypes.DEVICE_TARGET);

    public static final List<Topic> ALL = List.of(
            CAPABILITIES,
            ASSIGNMENTS,
            ADAPTERS_READY,
            TELEMETRY,
            MODEL_VERSIONS,
            MODEL_ALIASES,
            RETRAINING_REQUESTS,
            DEVICE_STATUS,
            DEVICE_TARGETS);

    /** Partitions of device-keyed topics: the unit of scale-out of a consumer group. */
    public static final int DEFAULT_PARTITIONS = 4;

    static Topic state(String name, String type) {
        return new Topic(name, type, true, null, DEFAULT_PARTITIONS);
    }

    static Topic stream(String name, String type, Duration retention) {
        return new Topic(name, type, false, retention, DEFAULT_PARTITIONS);
    }

    /** Where a consumer of this topic puts what it rejected. */
    public Topic deadLetter() {
        return new Topic(name + DLQ_SUFFIX, null, false, DEAD_LETTER_RETENTION, 1);
    }

    /** Topic-level configuration given to Kafka at creation. */
    public Map<String, String> configs() {
        Map<String, String> c = new LinkedHashMap<>();
        if (compacted) {
            c.put("cleanup.policy", "compact");
            // compact soon after a device's state changes, keep tombstones a day
            c.put("min.cleanable.dirty.ratio", "0.1");
            c.put("delete.retention.ms", Long.toString(Duration.ofDays(1).toMillis()));
        } else {
            c.put("cleanup.policy", "delete");
            c.put("retention.ms", Long.toString(retention.toMillis()));
        }
        // producers use acks=all; with one replica (local) this equals 1, in a cluster it should be 2 of 3
        c.put("min.insync.replicas", "1");
        return c;
    }

    /** The topic of this event type. */
    public static Topic ofType(String type) {
        for (Topic t : ALL) if (t.eventType().equals(type)) return t;
        throw new IllegalArgumentException("no topic carries event type " + type);
    }
}
