package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Topic;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Writes records to publish into the {@code outbox} table of the current transaction: they become visible
 * to the {@link OutboxRelay} only if the state they announce commits with them.
 */
public final class Outbox {
    private Outbox() {}

    public static void append(Connection tx, Topic topic, String key, CloudEvent event) throws SQLException {
        append(tx, topic.name(), key, KafkaCloudEvents.value(event), KafkaCloudEvents.headers(event));
    }

    public static void append(Connection tx, String topic, String key, byte[] value, Headers headers)
            throws SQLException {
        Map<String, String> h = new LinkedHashMap<>();
        for (Header header : headers)
            h.put(header.key(), header.value() == null ? "" : new String(header.value(), StandardCharsets.UTF_8));
        String headersJson;
        try {
            headersJson = Payloads.JSON.writeValueAsString(h);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        try (PreparedStatement st = tx.prepareStatement(
                "insert into outbox (topic, record_key, value, headers) values (?, ?, ?, ?::jsonb)")) {
            st.setString(1, topic);
            st.setString(2, key);
            st.setBytes(3, value);
            st.setString(4, headersJson);
            st.executeUpdate();
        }
    }
}
