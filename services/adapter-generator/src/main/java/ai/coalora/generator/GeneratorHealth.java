package ai.coalora.generator;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when assignments flow and the outbox publishes. */
@Readiness
@ApplicationScoped
public class GeneratorHealth implements HealthCheck {
    final GeneratorService service;

    GeneratorHealth(GeneratorService service) {
        this.service = service;
    }

    @Override
    public HealthCheckResponse call() {
        Optional<String> problem = service.runtime() == null ? Optional.of("starting") : service.runtime().problem();
        return HealthCheckResponse.named("generator-events").status(problem.isEmpty())
                .withData("packagesGenerated", service.handler() == null ? 0 : service.handler().generated())
                .withData("problem", problem.orElse("none")).build();
    }
}
