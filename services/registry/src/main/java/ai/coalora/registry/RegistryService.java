package ai.coalora.registry;

import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Starts the registry: records fleet events, publishes model registrations and alias moves. */
@ApplicationScoped
public class RegistryService {
    @ConfigProperty(name = "coalora.kafka.bootstrap-servers") String bootstrapServers;
    @ConfigProperty(name = "coalora.registry.retraining.margin") double retrainingMargin;
    @ConfigProperty(name = "coalora.registry.retraining.min-devices") int retrainingMinDevices;
    @ConfigProperty(name = "coalora.registry.coverage.gap-bits") double coverageGapBits;
    @ConfigProperty(name = "coalora.registry.coverage.min-devices") int coverageMinDevices;
    final AgroalDataSource dataSource;
    final MeterRegistry meters;
    final RegistryMetrics metrics;
    ServiceRuntime runtime;

    RegistryService(AgroalDataSource dataSource, MeterRegistry meters, RegistryMetrics metrics) {
        this.dataSource = dataSource;
        this.meters = meters;
        this.metrics = metrics;
    }

    void start(@Observes StartupEvent ignored) {
        runtime = ServiceRuntime.start("coalora-registry", bootstrapServers, dataSource,
                List.of(Topic.CAPABILITIES, Topic.ASSIGNMENTS, Topic.ADAPTERS_READY, Topic.TELEMETRY, Topic.DEVICE_STATUS),
                List.of(Topic.MODEL_VERSIONS, Topic.MODEL_ALIASES, Topic.RETRAINING_REQUESTS, Topic.DEVICE_TARGETS), new FleetEventsHandler(
                new RetrainingMonitor(retrainingMargin, retrainingMinDevices, coverageGapBits, coverageMinDevices, metrics), metrics), meters);
    }

    /** A REST transaction committed outbox records: publish now. */
    void published() {
        if (runtime != null) runtime.relay().wakeup();
    }

    // an accessor, not the field: callers hold a CDI client proxy, whose own fields are never set
    ServiceRuntime runtime() { return runtime; }

    void stop(@Observes ShutdownEvent ignored) {
        if (runtime != null) runtime.close();
    }
}
