package ai.coalora.registry;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;

/** The registry's error answers: a status and a JSON body saying what was wrong. */
final class ApiError {
    private ApiError() {}

    /** A client mistake thrown anywhere below a resource becomes its 4xx answer (one place, not a catch per method). */
    @jakarta.ws.rs.ext.Provider
    public static final class BadRequestMapper implements jakarta.ws.rs.ext.ExceptionMapper<ModelVersions.BadRequest> {
        @Override
        public Response toResponse(ModelVersions.BadRequest e) {
            return of(e.status, e.getMessage());
        }
    }

    static Response of(int status, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON).entity(Map.of("error", message)).build();
    }
}
