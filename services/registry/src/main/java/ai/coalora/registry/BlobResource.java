package ai.coalora.registry;

import ai.coalora.common.Sha256;
import ai.coalora.fleet.security.Role;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HEAD;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Content-addressed artifacts: model files, adapters, packed base models. */
@Path("/api/blobs/{sha256}")
@RolesAllowed(Role.VIEWER_NAME)
public class BlobResource {
    final BlobStore store;
    final AuditLog audit;

    BlobResource(BlobStore store, AuditLog audit) {
        this.store = store;
        this.audit = audit;
    }

    @PUT
    @RolesAllowed(Role.OPERATOR_NAME)
    @Consumes(MediaType.APPLICATION_OCTET_STREAM)
    @Operation(summary = "Store bytes under their sha256; 400 if they hash to something else")
    public Response put(@PathParam("sha256") String sha256, InputStream body) throws Exception {
        try {
            boolean created = audit.action(201, () -> store.put(sha256, body));
            return Response.status(created ? 201 : 200).build();
        } catch (BlobStore.Refused e) {
            return ApiError.of(400, e.getMessage());
        }
    }

    @HEAD
    @Operation(summary = "Whether the blob exists")
    public Response exists(@PathParam("sha256") String sha256) throws Exception {
        return store.find(sha256)
                .map(p -> Response.ok().header("Content-Length", size(p)).build())
                .orElse(Response.status(404).build());
    }

    @GET
    @Operation(summary = "Download a blob (verify it against its sha256)")
    public Response get(@PathParam("sha256") String sha256) {
        if (!Sha256.isValid(sha256)) return ApiError.of(400, "'" + sha256 + "' is not a lowercase hex sha256");
        return download(store, sha256);
    }

    /** The blob's bytes with its ETag, cacheable by the client only; 404 if there is none. */
    static Response download(BlobStore store, String sha256) {
        return store.find(sha256)
                .map(p -> Response.ok(p.toFile(), MediaType.APPLICATION_OCTET_STREAM)
                        .header("ETag", "\"" + sha256 + "\"")
                        // immutable (content-addressed), but behind a login: a shared cache must not serve it to others
                        .header("Cache-Control", "private, max-age=31536000, immutable")
                        .build())
                .orElse(ApiError.of(404, "no blob " + sha256));
    }

    private static long size(java.nio.file.Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }
}
