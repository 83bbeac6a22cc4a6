package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.Payloads;
import java.sql.SQLException;
import java.util.List;

/** A service's reaction to the events it consumes; the {@link EventProcessor} supplies delivery guarantees. */
public interface EventHandler {
    /**
     * Slow work for a batch before its transaction (e.g. generating artifacts), given only events not seen
     * before. It must be idempotent: after a crash the same batch is prepared again.
     */
    default void prepare(List<CloudEvent> fresh) throws Exception {}

    /**
     * Called once per batch transaction, before any of its events is applied, with the batch's new events: the place to
     * take the locks they will need, in one fixed order (e.g. a lock every plan takes before any device row), so that
     * two transactions never wait on each other in opposite orders. Locks taken here last until the commit.
     */
    default void begin(List<CloudEvent> fresh, Transaction tx) throws SQLException {}

    /** Applies one new event: state changes and announcements go through {@code tx}, atomically with the dedupe record. */
    void apply(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException;

    /**
     * The event's data as {@code type}. Data that passed its schema can still not map (an integer beyond the range of
     * the Java field): that is the event's fault, so it is rejected (dead-lettered) rather than thrown, which would
     * roll the batch back and stop the consumer on that record for good.
     */
    static <T> T data(CloudEvent event, Class<T> type) throws RejectedEvent {
        try {
            return Payloads.read(event.data(), type);
        } catch (IllegalArgumentException e) {
            throw new RejectedEvent(e.getMessage());
        }
    }
}
