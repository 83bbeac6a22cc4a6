package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.CloudEvent;
import java.sql.Timestamp;

/**
 * The guard that keeps a device's newest state: an upsert applies an event only if it is not older than the event that
 * set the state it replaces. Per-key order on a topic can break once: a producer whose broker was away longer than its
 * delivery timeout re-sends a batch, so an older event may arrive after a newer one (whose re-sent copy consumers then
 * drop as a duplicate). The event's time is its CloudEvents {@code time}, stamped by the producer when it wrote the
 * event into its outbox.
 */
public final class EventTimes {
    private EventTimes() {}

    /** The event's time as a SQL parameter (null if the producer set none: then the event always applies). */
    public static Timestamp of(CloudEvent event) {
        return event.time() == null ? null : Timestamp.from(event.time());
    }

    /**
     * The {@code on conflict do update ... where} condition for a column {@code column} of table {@code devices} that
     * holds the time of the event that last set it.
     */
    public static String newer(String column) {
        return "(excluded." + column + " is null or devices." + column + " is null or devices." + column
                + " <= excluded." + column + ")";
    }
}
