package ai.coalora.fleet.service;

import ai.coalora.fleet.messaging.Failures;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.sql.SQLException;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * A database error as an HTTP answer. An outage's ({@link Failures#isTransient}: the database restarting, failing
 * over or cutting sessions, a pool with no connection to give, a deadlock or serialization conflict that rolled the
 * transaction back) is a 503 with {@code Retry-After}: the request changed nothing and may be sent again, as devices
 * and the CLI do, the way the event loops retry their batch. Any other database error is a defect: a 500, logged
 * with its stack.
 */
@Provider
public class DatabaseUnavailable implements ExceptionMapper<SQLException> {
    static final int RETRY_AFTER_SECONDS = 5;
    private static final Logger LOG = Logger.getLogger(DatabaseUnavailable.class);

    @Override
    public Response toResponse(SQLException e) {
        if (Failures.isTransient(e))
            return Response.status(Response.Status.SERVICE_UNAVAILABLE)
                    .header("Retry-After", RETRY_AFTER_SECONDS)
                    .type(MediaType.APPLICATION_JSON)
                    .entity(Map.of("error", "the database is unavailable; retry in " + RETRY_AFTER_SECONDS + " s"))
                    .build();
        LOG.error("database error", e);
        return Response.serverError()
                .type(MediaType.APPLICATION_JSON)
                .entity(Map.of("error", "internal error"))
                .build();
    }
}
