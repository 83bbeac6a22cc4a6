package ai.coalora.registry;

import ai.coalora.fleet.security.Role;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Enrolment: operators issue each device its own gateway credential, see the history, and revoke. */
@Path("/api") // beside FleetResource's /api/devices: a class at /api/devices would hide its GETs
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.OPERATOR_NAME)
public class DeviceCredentialsResource {
    final DeviceCredentials credentials;
    final SecurityIdentity identity;
    final AuditLog audit;

    DeviceCredentialsResource(DeviceCredentials credentials, SecurityIdentity identity, AuditLog audit) {
        this.credentials = credentials;
        this.identity = identity;
        this.audit = audit;
    }

    @POST
    @Path("/devices/enrolments")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(
            summary = "Enrol devices {deviceIds, replace?}: one new token each, in this answer only; 409 for a device "
                    + "that has one unless replace (which revokes the old)")
    public Response enrol(DeviceCredentials.Enrolment e) throws Exception {
        List<DeviceCredentials.Issued> issued = audit.action(
                201, () -> credentials.enrol(e, identity.getPrincipal().getName()));
        return Response.status(201)
                .header("Cache-Control", "no-store")
                .entity(Map.of("credentials", issued))
                .build();
    }

    @GET
    @Path("/devices/{deviceId}/credentials")
    @Operation(summary = "The device's credentials, newest first (never the tokens)")
    public List<DeviceCredentials.Credential> history(@PathParam("deviceId") String deviceId) throws Exception {
        return credentials.history(deviceId);
    }

    @DELETE
    @Path("/devices/{deviceId}/credentials")
    @Operation(summary = "Revoke the device's credential: its requests are refused (401) from now on")
    public Response revoke(@PathParam("deviceId") String deviceId) throws Exception {
        audit.action(204, () -> {
            credentials.revoke(deviceId, identity.getPrincipal().getName());
            return null;
        });
        return Response.noContent().build();
    }
}
