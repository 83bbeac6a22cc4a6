package ai.coalora.registry;

import ai.coalora.fleet.security.Role;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Staged rollouts of a model version to devices, in waves, with thresholds and a quality gate (accuracy or perplexity). */
@Path("/api/rollouts")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.VIEWER_NAME)
public class RolloutResource {
    final Rollouts rollouts;
    final SecurityIdentity identity;

    final AuditLog audit;

    RolloutResource(Rollouts rollouts, SecurityIdentity identity, AuditLog audit) {
        this.rollouts = rollouts;
        this.identity = identity;
        this.audit = audit;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Role.OPERATOR_NAME)
    @Operation(
            summary =
                    "Start a rollout (operator; the actor is the authenticated user): {modelVersion, deviceIds?, waveFractions?, successThreshold?, errorThreshold?, "
                            + "errorMinExecuted?, qualityMargin?, onWaveSuccess (next-wave|pause)?, onFailure (pause|abort-keep|abort-revert)?}")
    public Response create(Rollouts.Plan plan) throws Exception {
        if (plan == null) throw ApiException.badRequest("a rollout plan is required");
        Rollouts.Rollout r = audit.action(
                201,
                () -> rollouts.create(plan.withActor(identity.getPrincipal().getName())));
        return Response.status(201).entity(r).build();
    }

    @GET
    @Operation(summary = "All rollouts, newest first, with per-wave progress and every transition")
    public List<Rollouts.Rollout> list() throws Exception {
        return rollouts.list();
    }

    @GET
    @Path("/{id}")
    @Operation(summary = "One rollout: state, thresholds, per-wave progress, transitions with their reasons")
    public Response get(@PathParam("id") String id) throws Exception {
        return rollouts.find(id).map(r -> Response.ok(r).build()).orElse(ApiError.of(404, "no rollout " + id));
    }

    @POST
    @Path("/{id}/{action}")
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Role.OPERATOR_NAME)
    @Operation(
            summary =
                    "pause | resume | abort ({mode: keep|revert}) | retry-failed (operator); body {reason, mode?}; the actor is the authenticated user")
    public Response act(@PathParam("id") String id, @PathParam("action") String action, Rollouts.Action body)
            throws Exception {
        Rollouts.Action a = body == null ? new Rollouts.Action(null, null, null) : body;
        return Response.ok(audit.action(
                        200,
                        () -> rollouts.act(
                                id, action, a.withActor(identity.getPrincipal().getName()))))
                .build();
    }
}
