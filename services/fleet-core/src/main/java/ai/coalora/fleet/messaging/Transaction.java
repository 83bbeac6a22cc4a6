package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.schema.EventSchemas;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/** The database transaction an event is applied in; what it publishes commits (or not) with it. */
public final class Transaction {
    private final Connection connection;
    private final EventSchemas schemas;
    private int published;

    public Transaction(Connection connection, EventSchemas schemas) {
        this.connection = connection;
        this.schemas = schemas;
    }

    public Connection connection() {
        return connection;
    }

    /** Queues {@code event} for {@code topic} (keyed by {@code key}); our own events must satisfy their schema. */
    public void publish(Topic topic, String key, CloudEvent event) throws SQLException {
        List<String> problems = schemas.validate(event.type(), event.data());
        if (!problems.isEmpty()) throw new IllegalStateException("refusing to publish an invalid " + event.type() + ": " + problems);
        Outbox.append(connection, topic, key, event);
        published++;
    }

    public int published() {
        return published;
    }
}
