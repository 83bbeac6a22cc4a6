package ai.coalora.planner;

import ai.coalora.fleet.planning.ParetoSelection;
import ai.coalora.fleet.security.Role;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the planner plans from and how much it has decided. */
@Path("/api/planner")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.VIEWER_NAME)
public class PlannerResource {
    final PlannerService service;

    PlannerResource(PlannerService service) {
        this.service = service;
    }

    @GET
    @Path("/status")
    public Map<String, Object> status() {
        Map<String, Object> out = new LinkedHashMap<>();
        ParetoSelection s = service.handler() == null ? null : service.handler().selection();
        out.put("alias", service.alias());
        out.put("modelVersion", s == null ? null : s.modelVersion());
        out.put("frontSize", s == null ? 0 : s.size());
        out.put("decisions", service.handler() == null ? 0 : service.handler().decisions());
        out.put(
                "eventsApplied",
                service.runtime() == null ? 0 : service.runtime().processor().applied());
        out.put(
                "eventsDeadLettered",
                service.runtime() == null ? 0 : service.runtime().processor().deadLettered());
        out.put(
                "duplicatesSkipped",
                service.runtime() == null ? 0 : service.runtime().processor().duplicates());
        return out;
    }
}
