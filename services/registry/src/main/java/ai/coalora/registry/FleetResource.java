package ai.coalora.registry;

import ai.coalora.fleet.security.Role;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Set;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Devices, their assignments, and the fleet at a glance. */
@Path("/api")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.VIEWER_NAME)
public class FleetResource {
    static final Set<String> STATUSES = Set.of("pending", "unassignable", "assigned", "ready", "running", "failed");
    static final int MAX_PAGE = 1000;
    final Fleet fleet;

    FleetResource(Fleet fleet) {
        this.fleet = fleet;
    }

    @GET
    @Path("/devices")
    @Operation(summary = "Devices with status (pending, unassignable, assigned, ready), paged")
    public Response devices(
            @QueryParam("status") String status,
            @QueryParam("limit") @DefaultValue("100") int limit,
            @QueryParam("offset") @DefaultValue("0") int offset)
            throws Exception {
        if (status != null && !STATUSES.contains(status)) return ApiError.of(400, "status must be one of " + STATUSES);
        if (limit < 1 || limit > MAX_PAGE || offset < 0)
            return ApiError.of(400, "limit must be 1.." + MAX_PAGE + " and offset >= 0");
        return Response.ok(fleet.devices(status, limit, offset)).build();
    }

    @GET
    @Path("/devices/{deviceId}")
    @Operation(summary = "One device: capabilities, current assignment with its reason, adapter package")
    public Response device(@PathParam("deviceId") String deviceId) throws Exception {
        return fleet.device(deviceId)
                .map(d -> Response.ok(d).build())
                .orElse(ApiError.of(404, "no device " + deviceId));
    }

    @GET
    @Path("/assignments")
    @Operation(summary = "Assignments in the order received, optionally of one device")
    public Response assignments(
            @QueryParam("deviceId") String deviceId, @QueryParam("limit") @DefaultValue("100") int limit)
            throws Exception {
        if (limit < 1 || limit > MAX_PAGE) return ApiError.of(400, "limit must be 1.." + MAX_PAGE);
        List<Fleet.AssignmentRecord> out = fleet.assignments(deviceId, limit);
        return Response.ok(out).build();
    }

    @GET
    @Path("/fleet/summary")
    @Operation(summary = "Devices by status and by assigned average bits, adapter packages, assignments, telemetry")
    public Fleet.Summary summary() throws Exception {
        return fleet.summary();
    }
}
