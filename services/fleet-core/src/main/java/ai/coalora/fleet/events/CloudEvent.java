package ai.coalora.fleet.events;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * A CloudEvents 1.0 event: the envelope attributes and the JSON data. On Kafka it travels in binary mode
 * ({@link KafkaCloudEvents}): the attributes as {@code ce_*} headers, the data as the record value.
 *
 * @param subject the device id for device events, else what the event is about (model version, alias)
 */
public record CloudEvent(
        String id, String source, String type, Instant time, String subject, String dataschema, JsonNode data) {
    public static final String SPEC_VERSION = "1.0";

    public CloudEvent {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        if (id.isEmpty()) throw new IllegalArgumentException("event id must not be empty");
    }

    /** A new event with a random id, stamped now. */
    public static CloudEvent create(String source, String type, String subject, String dataschema, JsonNode data) {
        return new CloudEvent(UUID.randomUUID().toString(), source, type, Instant.now(), subject, dataschema, data);
    }

    /** An event whose id is derived from what it announces, so re-announcing the same thing dedupes downstream. */
    public static CloudEvent withId(
            String id, String source, String type, String subject, String dataschema, JsonNode data) {
        return new CloudEvent(id, source, type, Instant.now(), subject, dataschema, data);
    }

    /** The consumer-side identity of this event: CloudEvents ids are unique per source. */
    public String dedupeKey() {
        return source + " " + id;
    }
}
