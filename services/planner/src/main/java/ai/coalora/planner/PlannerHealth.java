package ai.coalora.planner;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when events flow: the consumer runs and neither it nor the outbox relay is failing. */
@Readiness
@ApplicationScoped
public class PlannerHealth implements HealthCheck {
    final PlannerService service;

    PlannerHealth(PlannerService service) {
        this.service = service;
    }

    @Override
    public HealthCheckResponse call() {
        var problem = service.runtime() == null ? Optional.of("starting") : service.runtime().problem();
        return HealthCheckResponse.named("planner-events").status(problem.isEmpty())
                .withData("decisions", service.handler() == null ? 0 : service.handler().decisions())
                .withData("problem", problem.orElse("none")).build();
    }
}
