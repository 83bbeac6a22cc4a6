package ai.coalora.trainer;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when retraining requests flow. */
@Readiness
@ApplicationScoped
public class TrainerHealth implements HealthCheck {
    final TrainerService service;

    TrainerHealth(TrainerService service) {
        this.service = service;
    }

    @Override
    public HealthCheckResponse call() {
        Optional<String> problem = service.runtime() == null ? Optional.of("starting") : service.runtime().problem();
        return HealthCheckResponse.named("trainer-events").status(problem.isEmpty())
                .withData("problem", problem.orElse("none")).build();
    }
}
