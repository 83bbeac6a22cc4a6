package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.Topic;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a service's {@link EventProcessor} reports, per consumed topic and never per device:
 * <ul>
 *   <li>{@code coalora_events_processed_total{service,topic,outcome}}: consumed records by outcome, {@code applied},
 *       {@code duplicate} (skipped by the inbox) or {@code dead_lettered}, counted once their batch committed;</li>
 *   <li>{@code coalora_consumer_lag_records{service,topic}}: records behind the end of the service's assigned
 *       partitions of the topic (read_committed: the last stable offset), refreshed by the consumer loop.</li>
 * </ul>
 * Every input topic's series exist from the start (at 0), so a dashboard sees them before the first event.
 */
public final class EventMetrics {
    public static final String PROCESSED = "coalora.events.processed", LAG = "coalora.consumer.lag.records";
    public static final String APPLIED = "applied", DUPLICATE = "duplicate", DEAD_LETTERED = "dead_lettered";

    private final MeterRegistry registry;
    private final String service;
    private final Map<String, Counter> processed = new ConcurrentHashMap<>();
    // strongly held: Micrometer keeps only weak references to a gauge's state
    private final Map<String, AtomicLong> lag = new ConcurrentHashMap<>();

    public EventMetrics(MeterRegistry registry, String service, List<Topic> inputs) {
        this.registry = registry;
        this.service = service;
        for (Topic t : inputs) {
            for (String outcome : List.of(APPLIED, DUPLICATE, DEAD_LETTERED)) counter(t.name(), outcome);
            lagOf(t.name());
        }
    }

    /** Adds a committed batch's outcomes: topic → outcome → records. */
    void processed(Map<String, Map<String, Long>> counts) {
        counts.forEach((topic, byOutcome) ->
                byOutcome.forEach((outcome, n) -> counter(topic, outcome).increment(n)));
    }

    /** Sets each input topic's lag; topics absent from {@code byTopic} (no partition assigned) are at 0. */
    void lag(Map<String, Long> byTopic) {
        Map<String, Long> all = new HashMap<>(byTopic);
        for (String topic : lag.keySet()) all.putIfAbsent(topic, 0L);
        all.forEach((topic, n) -> lagOf(topic).set(n));
    }

    private Counter counter(String topic, String outcome) {
        return processed.computeIfAbsent(
                topic + "\u0000" + outcome,
                k -> Counter.builder(PROCESSED)
                        .description(
                                "Consumed records by outcome: applied, duplicate (already in the inbox), dead_lettered")
                        .tag("service", service)
                        .tag("topic", topic)
                        .tag("outcome", outcome)
                        .register(registry));
    }

    private AtomicLong lagOf(String topic) {
        return lag.computeIfAbsent(topic, t -> {
            AtomicLong holder = new AtomicLong();
            Gauge.builder(LAG, holder, AtomicLong::get)
                    .description(
                            "Records between the consumer's position and the end of its assigned partitions of the topic")
                    .tag("service", service)
                    .tag("topic", t)
                    .register(registry);
            return holder;
        });
    }
}
