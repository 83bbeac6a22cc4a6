package ai.coalora.fleet.messaging;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Rejected records go to {@code <topic>.dlq} unchanged (value, key, original headers) plus headers saying
 * why, where from and who rejected them; they are written through the outbox, so a rejection commits
 * exactly once with the consumer's progress.
 */
public final class DeadLetters {
    public static final String REASON = "coalora_dlq_reason", TOPIC = "coalora_dlq_topic", PARTITION = "coalora_dlq_partition",
            OFFSET = "coalora_dlq_offset", SERVICE = "coalora_dlq_service";
    /** Reasons are for people; a reason quoting a huge payload is cut. */
    static final int MAX_REASON_CHARS = 1000;

    private DeadLetters() {}

    public static void append(Connection tx, ConsumerRecord<String, byte[]> record, String reason, String service) throws SQLException {
        Headers h = new RecordHeaders();
        for (Header header : record.headers()) {
            if (!header.key().startsWith("coalora_dlq_")) h.add(header);
        }
        put(h, REASON, reason.length() > MAX_REASON_CHARS ? reason.substring(0, MAX_REASON_CHARS) + "..." : reason);
        put(h, TOPIC, record.topic());
        put(h, PARTITION, Integer.toString(record.partition()));
        put(h, OFFSET, Long.toString(record.offset()));
        put(h, SERVICE, service);
        byte[] value = record.value() == null ? new byte[0] : record.value();
        Outbox.append(tx, record.topic() + ai.coalora.fleet.events.Topic.DLQ_SUFFIX, record.key(), value, h);
    }

    private static void put(Headers h, String key, String value) {
        h.add(key, value.getBytes(StandardCharsets.UTF_8));
    }

    /** The reason header of a dead-lettered record, or null. */
    public static String reasonOf(Headers headers) {
        Header h = headers.lastHeader(REASON);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
