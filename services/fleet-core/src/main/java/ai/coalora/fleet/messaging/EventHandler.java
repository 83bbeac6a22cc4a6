package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.CloudEvent;
import java.sql.SQLException;
import java.util.List;

/** A service's reaction to the events it consumes; the {@link EventProcessor} supplies delivery guarantees. */
public interface EventHandler {
    /**
     * Slow work for a batch before its transaction (e.g. generating artifacts), given only events not seen
     * before. It must be idempotent: after a crash the same batch is prepared again.
     */
    default void prepare(List<CloudEvent> fresh) throws Exception {}

    /** Applies one new event: state changes and announcements go through {@code tx}, atomically with the dedupe record. */
    void apply(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException;
}
