package ai.coalora.registry;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;

/** The registry's error answers: a status and a JSON body saying what was wrong. */
final class ApiError {
    private ApiError() {}

    static Response of(int status, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON).entity(Map.of("error", message)).build();
    }
}
