package ai.coalora.registry;

import ai.coalora.fleet.security.Role;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Model versions (immutable) and aliases (moving pointers with history). */
@Path("/api")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.VIEWER_NAME)
public class VersionResource {
    final ModelVersions versions;
    final SecurityIdentity identity;

    final AuditLog audit;

    VersionResource(ModelVersions versions, SecurityIdentity identity, AuditLog audit) {
        this.versions = versions;
        this.identity = identity;
        this.audit = audit;
    }

    @GET
    @Path("/versions")
    @Operation(summary = "All model versions, newest first")
    public List<ModelVersions.Version> list() throws Exception {
        return versions.list();
    }

    @GET
    @Path("/versions/{version}")
    @Operation(summary = "One model version: files, Pareto front with device footprints, lineage")
    public Response get(@PathParam("version") String version) throws Exception {
        return versions.find(version)
                .map(v -> Response.ok(v).build())
                .orElse(ApiError.of(404, "no model version " + version));
    }

    @POST
    @Path("/versions")
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed(Role.OPERATOR_NAME)
    @Operation(
            summary =
                    "Register (operator) a bundle whose files were uploaded as blobs; idempotent (201 new, 200 existing)")
    public Response register(ModelVersions.Registration registration) throws Exception {
        // recorded with the registration when it is new; the same files again change nothing
        ModelVersions.Registered r = audit.action(201, () -> versions.register(registration));
        return Response.status(r.created() ? 201 : 200).entity(r.version()).build();
    }

    @GET
    @Path("/aliases/{alias}")
    @Operation(summary = "Where an alias points and every move of it")
    public Response alias(@PathParam("alias") String alias) throws Exception {
        List<ModelVersions.AliasMove> history = versions.history(alias);
        if (history.isEmpty()) return ApiError.of(404, "no alias " + alias);
        return Response.ok(Map.of(
                        "alias",
                        alias,
                        "modelVersion",
                        history.get(history.size() - 1).modelVersion(),
                        "history",
                        history))
                .build();
    }

    @PUT
    @Path("/aliases/{alias}")
    @Consumes(MediaType.APPLICATION_JSON)
    @RolesAllowed({Role.ADMIN_NAME, Role.CANARY_PROMOTER_NAME})
    @Operation(
            summary =
                    "Point an alias at a version (promote; admin, or the trainer for canary only; the actor is the authenticated user); announces it, so planners re-plan")
    public Response promote(@PathParam("alias") String alias, ModelVersions.Promotion promotion) throws Exception {
        if (!identity.hasRole(Role.ADMIN_NAME) && !Role.CANARY.equals(alias))
            throw ApiException.forbidden("this account may move only the " + Role.CANARY + " alias");
        if (promotion == null) throw ApiException.badRequest("a promotion {modelVersion, reason} is required");
        return Response.ok(audit.action(
                        200,
                        () -> versions.promote(
                                alias,
                                promotion.withActor(identity.getPrincipal().getName()))))
                .build();
    }
}
