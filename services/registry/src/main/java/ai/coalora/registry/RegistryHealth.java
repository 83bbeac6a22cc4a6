package ai.coalora.registry;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when fleet events are recorded and the outbox publishes. */
@Readiness
@ApplicationScoped
public class RegistryHealth implements HealthCheck {
    final RegistryService service;

    RegistryHealth(RegistryService service) {
        this.service = service;
    }

    @Override
    public HealthCheckResponse call() {
        Optional<String> problem = service.runtime() == null ? Optional.of("starting") : service.runtime().problem();
        return HealthCheckResponse.named("registry-events").status(problem.isEmpty()).withData("problem", problem.orElse("none")).build();
    }
}
