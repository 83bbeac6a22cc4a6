package ai.coalora.fleet.service;

import ai.coalora.fleet.events.ServiceTopics;
import ai.coalora.fleet.messaging.EventHandler;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.registry.RegistryClient;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle every event-driven service shares: at startup it opens what the service needs and then its event
 * runtime (consumer and outbox relay); at shutdown it closes the runtime first, then the rest in reverse order.
 * A service is one application-scoped subclass; {@link EventsReadiness} reports on it. What every service uses is
 * here: its database (schema and migrations per service in its application.properties), the broker, the meters; the
 * defaults they share are in this module's {@code META-INF/microprofile-config.properties}.
 */
public abstract class EventService {
    private static final Logger LOG = LoggerFactory.getLogger(EventService.class);

    @ConfigProperty(name = "coalora.kafka.bootstrap-servers")
    protected String bootstrapServers;

    // the service's own Kafka principal; empty values read as absent, which kafka() reports by variable name
    @ConfigProperty(name = "coalora.kafka.sasl.username")
    protected Optional<String> kafkaUsername;

    @ConfigProperty(name = "coalora.kafka.sasl.password")
    protected Optional<String> kafkaPassword;

    @ConfigProperty(name = "coalora.kafka.security-protocol", defaultValue = KafkaConnection.SASL_PLAINTEXT)
    protected String kafkaSecurityProtocol;

    @ConfigProperty(name = "coalora.kafka.ssl.truststore-file")
    protected Optional<String> kafkaTruststoreFile;

    @Inject
    protected AgroalDataSource dataSource;

    @Inject
    protected MeterRegistry meters;

    private final Deque<AutoCloseable> resources = new ArrayDeque<>();
    private volatile ServiceRuntime runtime;

    /** The service's short name ("planner"): its readiness check is {@code <name>-events}. */
    public abstract String name();

    /** Opens the service's event runtime; what it needs besides goes through {@link #closeOnStop}. */
    protected abstract ServiceRuntime open() throws Exception;

    /**
     * Starts the event runtime as the service's consumer group: consumes what its row of {@link ServiceTopics} reads
     * with {@code handler}, relays the outbox onto the topics the row owns, and makes sure every topic exists. The row
     * is the one table its principal's ACLs are made from, so a service never asks the brokers for more.
     */
    protected final ServiceRuntime startEvents(EventHandler handler) {
        ServiceTopics topics = ServiceTopics.require(name());
        return ServiceRuntime.start(
                topics.group(), kafka(), dataSource, topics.reads(), topics.owns(), handler, meters);
    }

    /** The brokers and this service's principal (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD). */
    protected KafkaConnection kafka() {
        if (kafkaUsername.isEmpty() || kafkaPassword.isEmpty())
            throw new IllegalStateException(name() + ": set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD, the service's"
                    + " Kafka principal (the brokers refuse anonymous clients)");
        return new KafkaConnection(
                bootstrapServers,
                kafkaUsername.get(),
                kafkaPassword.get(),
                kafkaSecurityProtocol,
                kafkaTruststoreFile.orElse(null));
    }

    /** A client of the registry at {@code coalora.registry.url}, as the account {@code coalora.registry.user}. */
    protected static RegistryClient registryClient() {
        Config config = ConfigProvider.getConfig();
        return RegistryClient.of(
                config.getValue("coalora.registry.url", String.class),
                config.getOptionalValue("coalora.registry.user", String.class).orElse(null),
                config.getOptionalValue("coalora.registry.password", String.class)
                        .orElse(null));
    }

    /** Counters the readiness check shows next to the problem, if any. */
    public Map<String, Object> readinessData() {
        return Map.of();
    }

    /** Registers {@code resource} to be closed at shutdown, after the runtime, in reverse order of registration. */
    protected final <T extends AutoCloseable> T closeOnStop(T resource) {
        synchronized (resources) {
            resources.push(resource);
        }
        return resource;
    }

    // public: the container calls the observers from generated code in the subclass's package
    public void start(@Observes StartupEvent ignored) throws Exception {
        runtime = open();
    }

    public void stop(@Observes ShutdownEvent ignored) {
        ServiceRuntime r = runtime;
        if (r != null) r.close();
        synchronized (resources) {
            while (!resources.isEmpty()) {
                AutoCloseable c = resources.pop();
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("{}: closing {} failed", name(), c, e);
                }
            }
        }
    }

    // accessors, not fields: callers hold a CDI client proxy, whose own fields are never set

    /** The event runtime; null until startup opened it. */
    public ServiceRuntime runtime() {
        return runtime;
    }

    /** What keeps the service from doing its work right now, if anything. */
    public Optional<String> problem() {
        ServiceRuntime r = runtime;
        return r == null ? Optional.of("starting") : r.problem();
    }
}
