package ai.coalora.fleet.messaging;

import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.schema.EventSchemas;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Everything a fleet service runs besides its own logic: its topics created, the outbox relay, and (for a
 * service that consumes) the event processor. Services start one in their startup bean.
 */
public final class ServiceRuntime implements AutoCloseable {
    private static final EventSchemas SCHEMAS = EventSchemas.load();

    private final OutboxRelay relay;
    private final EventProcessor processor;

    private ServiceRuntime(OutboxRelay relay, EventProcessor processor) {
        this.relay = relay;
        this.processor = processor;
    }

    /**
     * @param service the consumer group, and the name its clients carry
     * @param kafka the brokers and the service's own principal
     * @param handler null for a service that only publishes
     * @param meters where the event processor's {@link EventMetrics} go (the service's Prometheus registry)
     */
    public static ServiceRuntime start(
            String service,
            KafkaConnection kafka,
            DataSource dataSource,
            List<Topic> inputs,
            List<Topic> outputs,
            EventHandler handler,
            MeterRegistry meters) {
        TopicAdmin.ensure(kafka, outputs, inputs);
        OutboxRelay relay = new OutboxRelay(service, kafka, dataSource).start();
        EventProcessor processor = handler == null
                ? null
                : new EventProcessor(
                                new EventProcessor.Settings(service, kafka, inputs),
                                dataSource,
                                SCHEMAS,
                                handler,
                                relay,
                                new EventMetrics(meters, service, inputs))
                        .start();
        return new ServiceRuntime(relay, processor);
    }

    public static EventSchemas schemas() {
        return SCHEMAS;
    }

    public OutboxRelay relay() {
        return relay;
    }

    public EventProcessor processor() {
        return processor;
    }

    /** What keeps this service from doing its work right now, if anything (for the readiness check). */
    public Optional<String> problem() {
        if (processor != null && !processor.isRunning()) return Optional.of("event processor stopped");
        if (processor != null && processor.lastError() != null) return Optional.of("events: " + processor.lastError());
        if (relay.lastError() != null) return Optional.of("outbox: " + relay.lastError());
        return Optional.empty();
    }

    @Override
    public void close() {
        if (processor != null) processor.close();
        relay.close();
    }
}
