package ai.coalora.fleet.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * CloudEvents Kafka protocol binding, binary content mode: attributes as {@code ce_}-prefixed headers,
 * {@code content-type} for the data, the data JSON as the record value, the subject (device id) as key.
 */
public final class KafkaCloudEvents {
    public static final String CONTENT_TYPE = "application/json";
    /** A record value larger than this is rejected unread (hostile or broken producers). */
    public static final int MAX_DATA_BYTES = 256 * 1024;

    private KafkaCloudEvents() {}

    /** Why a record is not a readable CloudEvent. */
    public static final class Unreadable extends Exception {
        public Unreadable(String reason) {
            super(reason);
        }
    }

    public static Headers headers(CloudEvent e) {
        Headers h = new RecordHeaders();
        put(h, "ce_specversion", CloudEvent.SPEC_VERSION);
        put(h, "ce_id", e.id());
        put(h, "ce_source", e.source());
        put(h, "ce_type", e.type());
        if (e.time() != null) put(h, "ce_time", e.time().toString());
        if (e.subject() != null) put(h, "ce_subject", e.subject());
        if (e.dataschema() != null) put(h, "ce_dataschema", e.dataschema());
        put(h, "content-type", CONTENT_TYPE);
        return h;
    }

    public static byte[] value(CloudEvent e) {
        try {
            return Payloads.JSON.writeValueAsBytes(e.data());
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** Decodes a binary-mode record; every way it can be broken is an {@link Unreadable} with the reason. */
    public static CloudEvent decode(ConsumerRecord<String, byte[]> record) throws Unreadable {
        Headers h = record.headers();
        String spec = text(h, "ce_specversion");
        if (spec == null) throw new Unreadable("not a CloudEvent: header ce_specversion missing");
        if (!CloudEvent.SPEC_VERSION.equals(spec))
            throw new Unreadable("unsupported CloudEvents specversion '" + spec + "'");
        String id = required(h, "ce_id"), source = required(h, "ce_source"), type = required(h, "ce_type");
        String contentType = text(h, "content-type");
        if (contentType != null && !contentType.startsWith(CONTENT_TYPE)) {
            throw new Unreadable("content-type '" + contentType + "' is not " + CONTENT_TYPE);
        }
        Instant time = null;
        String t = text(h, "ce_time");
        if (t != null) {
            try {
                time = Instant.parse(t);
            } catch (DateTimeParseException ex) {
                throw new Unreadable("header ce_time is not an RFC 3339 timestamp: '" + t + "'");
            }
        }
        byte[] value = record.value();
        if (value == null) throw new Unreadable("record has no value (tombstones are not events)");
        if (value.length > MAX_DATA_BYTES)
            throw new Unreadable("data is " + value.length + " bytes, over the limit of " + MAX_DATA_BYTES);
        JsonNode data;
        try {
            data = Payloads.JSON.readTree(value);
        } catch (Exception ex) {
            throw new Unreadable(
                    "data is not JSON: " + ex.getMessage().lines().findFirst().orElse(""));
        }
        if (data == null || !data.isObject()) throw new Unreadable("data is not a JSON object");
        return new CloudEvent(id, source, type, time, text(h, "ce_subject"), text(h, "ce_dataschema"), data);
    }

    static void put(Headers h, String key, String value) {
        h.add(key, value.getBytes(StandardCharsets.UTF_8));
    }

    static String text(Headers h, String key) {
        Header header = h.lastHeader(key);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static String required(Headers h, String key) throws Unreadable {
        String v = text(h, key);
        if (v == null || v.isEmpty()) throw new Unreadable("CloudEvent header " + key + " missing or empty");
        return v;
    }
}
