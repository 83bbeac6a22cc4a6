package ai.coalora.registry;

import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.service.EventService;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.function.Consumer;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** The registry's events: records fleet events, publishes model registrations and alias moves. */
@ApplicationScoped
public class RegistryService extends EventService {
    @ConfigProperty(name = "coalora.registry.retraining.margin")
    double retrainingMargin;

    @ConfigProperty(name = "coalora.registry.retraining.min-devices")
    int retrainingMinDevices;

    @ConfigProperty(name = "coalora.registry.coverage.gap-bits")
    double coverageGapBits;

    @ConfigProperty(name = "coalora.registry.coverage.min-devices")
    int coverageMinDevices;

    final RegistryMetrics metrics;

    RegistryService(RegistryMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public String name() {
        return "registry";
    }

    @Override
    protected ServiceRuntime open() {
        return startEvents(new FleetEventsHandler(
                new RetrainingMonitor(
                        retrainingMargin, retrainingMinDevices, coverageGapBits, coverageMinDevices, metrics),
                metrics,
                this::packageChanged));
    }

    private volatile Consumer<String> packageChanged = device -> {};

    /** {@code listener} hears each device whose package changed, once the change committed. */
    void onPackageChanged(Consumer<String> listener) {
        this.packageChanged = listener;
    }

    /** The package of {@code device} changed (committed). */
    void packageChanged(String device) {
        packageChanged.accept(device);
    }

    /** A REST transaction committed outbox records: publish now. */
    void published() {
        ServiceRuntime r = runtime();
        if (r != null) r.relay().wakeup();
    }
}
