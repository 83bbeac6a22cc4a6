package ai.coalora.registry;

import ai.coalora.common.Sha256;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.registry.DeviceGateway.Report;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.smallrye.common.annotation.Blocking;
import jakarta.annotation.security.PermitAll;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.io.InputStream;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.eclipse.microprofile.openapi.annotations.Operation;

/**
 * The device gateway's HTTP API, the one door for devices (after hawkBit's device API): each request authenticates
 * with the device's own bearer token ({@link DeviceCredentials}) and acts for that device only. Operators' accounts
 * have no say here, and devices have none under {@code /api}.
 */
@Path("/" + GatewayClient.PREFIX)
@PermitAll // authenticated per request by the device token, not by the users file
public class DeviceGatewayResource {
    final DeviceCredentials credentials;
    final DeviceGateway gateway;
    final BlobStore blobs;

    DeviceGatewayResource(DeviceCredentials credentials, DeviceGateway gateway, BlobStore blobs) {
        this.credentials = credentials;
        this.gateway = gateway;
        this.blobs = blobs;
    }

    @POST
    @Path("/capabilities")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The device announces what it can run (memory, bit-widths, formats); the planner plans it")
    public Response capabilities(@HeaderParam(HttpHeaders.AUTHORIZATION) String auth, InputStream body)
            throws Exception {
        return report(auth, Report.CAPABILITIES, body);
    }

    @POST
    @Path("/status")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The device reports an update: applied, rejected (with why) or failed")
    public Response status(@HeaderParam(HttpHeaders.AUTHORIZATION) String auth, InputStream body) throws Exception {
        return report(auth, Report.STATUS, body);
    }

    @POST
    @Path("/telemetry")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The device reports what it measured on its own data with its current package")
    public Response telemetry(@HeaderParam(HttpHeaders.AUTHORIZATION) String auth, InputStream body) throws Exception {
        return report(auth, Report.TELEMETRY, body);
    }

    private Response report(String auth, Report what, InputStream body) throws Exception {
        String device = credentials.authenticate(auth);
        String id = gateway.report(device, what, body);
        return Response.accepted(Map.of("deviceId", device, "eventId", id)).build();
    }

    @GET
    @Path("/package")
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    @Operation(
            summary = "The device's current package (adapter-ready with its signed manifest, files under this API); "
                    + "with If-None-Match and wait=SECONDS, held open until it changes (304 if it did not)")
    public CompletionStage<Response> currentPackage(
            @HeaderParam(HttpHeaders.AUTHORIZATION) String auth,
            @HeaderParam(HttpHeaders.IF_NONE_MATCH) String ifNoneMatch,
            @QueryParam("wait") @DefaultValue("0") int waitSeconds,
            @Context UriInfo uri)
            throws Exception {
        String device = credentials.authenticate(auth);
        if (waitSeconds < 0 || waitSeconds > GatewayClient.MAX_WAIT.toSeconds())
            throw ApiException.badRequest("wait must be 0.." + GatewayClient.MAX_WAIT.toSeconds() + " seconds");
        String known =
                ifNoneMatch == null ? null : ifNoneMatch.replace("\"", "").trim();
        return gateway.awaitPackage(device, known, Duration.ofSeconds(waitSeconds))
                .thenApply(p -> answer(p, known, uri));
    }

    private static Response answer(Optional<DeviceGateway.Package> p, String known, UriInfo uri) {
        if (p.isEmpty()) return Response.status(known == null ? 204 : 304).build();
        // files are fetched through this API, where the device's token is accepted (the manifest does not sign URLs)
        JsonNode ready = p.get().adapterReady().deepCopy();
        for (JsonNode a : (ArrayNode) ready.path("artifacts"))
            ((ObjectNode) a)
                    .put(
                            "url",
                            uri.getBaseUriBuilder()
                                    .path(GatewayClient.PREFIX + "blobs/"
                                            + a.path("sha256").asText())
                                    .build()
                                    .toString());
        return Response.ok(ready)
                .header("ETag", "\"" + p.get().etag() + "\"")
                .header("Cache-Control", "no-store")
                .build();
    }

    @GET
    @Path("/blobs/{sha256}")
    @Operation(summary = "A file of the device's current package (no other blob)")
    public Response blob(@HeaderParam(HttpHeaders.AUTHORIZATION) String auth, @PathParam("sha256") String sha256)
            throws Exception {
        String device = credentials.authenticate(auth);
        if (!Sha256.isValid(sha256)) throw ApiException.badRequest("'" + sha256 + "' is not a lowercase hex sha256");
        if (!gateway.mayDownload(device, sha256))
            throw ApiException.forbidden(sha256 + " is not a file of device " + device + "'s current package");
        return BlobResource.download(blobs, sha256);
    }
}
