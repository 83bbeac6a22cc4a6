package ai.coalora.registry;

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

/** Staged rollouts of a model version to devices, in waves, with thresholds and an accuracy gate. */
@Path("/api/rollouts")
@Produces(MediaType.APPLICATION_JSON)
public class RolloutResource {
    final Rollouts rollouts;

    RolloutResource(Rollouts rollouts) {
        this.rollouts = rollouts;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Start a rollout: {modelVersion, actor, deviceIds?, waveFractions?, successThreshold?, errorThreshold?, "
            + "errorMinExecuted?, accuracyMargin?, onWaveSuccess (next-wave|pause)?, onFailure (pause|abort-keep|abort-revert)?}")
    public Response create(Rollouts.Plan plan) throws Exception {
        return Response.status(201).entity(rollouts.create(plan)).build();
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
    @Operation(summary = "pause | resume | abort ({mode: keep|revert}) | retry-failed; body {actor, reason}")
    public Response act(@PathParam("id") String id, @PathParam("action") String action, Rollouts.Action body) throws Exception {
        return Response.ok(rollouts.act(id, action, body)).build();
    }
}
