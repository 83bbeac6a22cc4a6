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
    public static final String REASON = "coalora_dlq_reason",
            TOPIC = "coalora_dlq_topic",
            PARTITION = "coalora_dlq_partition",
            OFFSET = "coalora_dlq_offset",
            SERVICE = "coalora_dlq_service";
    /** Reasons are for people; a reason quoting a huge payload is cut. */
    static final int MAX_REASON_CHARS = 1000;

    private DeadLetters() {}

    public static void append(Connection tx, ConsumerRecord<String, byte[]> record, String reason, String service)
            throws SQLException {
        Headers h = new RecordHeaders();
        for (Header header : record.headers()) {
            if (!header.key().startsWith("coalora_dlq_")) h.add(printable(header.key()), storable(header.value()));
        }
        String why = printable(reason);
        put(h, REASON, why.length() > MAX_REASON_CHARS ? why.substring(0, MAX_REASON_CHARS) + "..." : why);
        put(h, TOPIC, record.topic());
        put(h, PARTITION, Integer.toString(record.partition()));
        put(h, OFFSET, Long.toString(record.offset()));
        put(h, SERVICE, service);
        byte[] value = record.value() == null ? new byte[0] : record.value();
        Outbox.append(
                tx,
                record.topic() + ai.coalora.fleet.events.Topic.DLQ_SUFFIX,
                record.key() == null ? null : printable(record.key()),
                value,
                h);
    }

    /**
     * Text a hostile record carried, made storable: PostgreSQL text and jsonb cannot hold NUL, so control characters
     * (other than tab and line breaks) become U+FFFD. Without this a reason quoting a NUL would fail the batch's
     * transaction on every retry: a poison record.
     */
    static String printable(String s) {
        if (s == null) return "";
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f) {
                if (b == null) b = new StringBuilder(s.substring(0, i));
                b.append('\uFFFD');
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    /** A header value as UTF-8 text without NUL (the outbox keeps headers as JSON text). */
    private static byte[] storable(byte[] value) {
        if (value == null) return null;
        return printable(new String(value, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
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
