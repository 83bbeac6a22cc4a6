package ai.coalora.fleet.service;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/** Ready when events flow: the consumer runs and neither it nor the outbox relay is failing. One per service. */
@Readiness
@ApplicationScoped
public class EventsReadiness implements HealthCheck {
    final EventService service;

    EventsReadiness(EventService service) {
        this.service = service;
    }

    @Override
    public HealthCheckResponse call() {
        Optional<String> problem = service.problem();
        HealthCheckResponseBuilder b =
                HealthCheckResponse.named(service.name() + "-events").status(problem.isEmpty());
        for (Map.Entry<String, Object> e : service.readinessData().entrySet()) {
            if (e.getValue() instanceof Number n) b.withData(e.getKey(), n.longValue());
            else b.withData(e.getKey(), String.valueOf(e.getValue()));
        }
        return b.withData("problem", problem.orElse("none")).build();
    }
}
