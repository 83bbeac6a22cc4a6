package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.schema.EventSchemas;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The database transaction an event is applied in; what it publishes commits (or not) with it. Actions for
 * after the commit (e.g. counting what happened in metrics) run only once it committed, and an event the
 * {@link EventProcessor} rolls back to its savepoint loses the actions it registered.
 */
public final class Transaction {
    private final Connection connection;
    private final EventSchemas schemas;
    private final List<Runnable> afterCommit = new ArrayList<>();
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
        if (!problems.isEmpty())
            throw new IllegalStateException("refusing to publish an invalid " + event.type() + ": " + problems);
        Outbox.append(connection, topic, key, event);
        published++;
    }

    public int published() {
        return published;
    }

    /**
     * Runs {@code action} after this transaction committed; never if it rolls back. Only transactions the
     * {@link EventProcessor} commits run these.
     */
    public void afterCommit(Runnable action) {
        afterCommit.add(action);
    }

    /** How many after-commit actions are registered: a mark to {@link #discardAfterCommit(int) discard back to}. */
    int afterCommitMark() {
        return afterCommit.size();
    }

    /** Drops the actions registered since {@code mark} (their event was rolled back to its savepoint). */
    void discardAfterCommit(int mark) {
        afterCommit.subList(mark, afterCommit.size()).clear();
    }

    /**
     * The actions to run now that the transaction committed, in the order registered; for whoever commits it (the
     * {@link EventProcessor}, a test running a handler the same way).
     */
    public List<Runnable> takeAfterCommit() {
        List<Runnable> out = List.copyOf(afterCommit);
        afterCommit.clear();
        return out;
    }
}
