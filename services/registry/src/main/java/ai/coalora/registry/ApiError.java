package ai.coalora.registry;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.util.Map;

/** The registry's error answers: a status and a JSON body saying what was wrong. */
final class ApiError {
    private ApiError() {}

    /** A client mistake thrown anywhere below a resource becomes its 4xx answer (one place, not a catch per method). */
    @Provider
    public static final class ApiExceptionMapper implements ExceptionMapper<ApiException> {
        @Override
        public Response toResponse(ApiException e) {
            Response r = of(e.status().code(), e.getMessage());
            // a device's credential is a bearer token (RFC 6750): say which scheme the gateway expects
            if (e.status() == ApiException.Status.UNAUTHORIZED)
                return Response.fromResponse(r)
                        .header("WWW-Authenticate", "Bearer realm=\"coalora-devices\"")
                        .build();
            return r;
        }
    }

    static Response of(int status, String message) {
        return Response.status(status)
                .type(MediaType.APPLICATION_JSON)
                .entity(Map.of("error", message))
                .build();
    }
}
