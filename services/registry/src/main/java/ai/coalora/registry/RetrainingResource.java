package ai.coalora.registry;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.security.Role;
import io.agroal.api.AgroalDataSource;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Retraining requests raised from telemetry and the versions that answered them. */
@Path("/api/retraining")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.VIEWER_NAME)
public class RetrainingResource {
    public record Request(
            String requestId,
            String modelVersion,
            List<String> configIds,
            String reason,
            Object evidence,
            Object budgets,
            String resultVersion,
            Instant createdAt) {}

    final AgroalDataSource dataSource;

    RetrainingResource(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    @GET
    @Operation(summary = "Retraining requests, newest first, with their evidence and the version that answered each")
    public List<Request> list() throws Exception {
        List<Request> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select request_id, model_version, config_ids::text, reason, evidence::text, budgets::text, "
                                + "result_version, created_at from retraining_requests order by created_at desc");
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                out.add(new Request(
                        rs.getString(1),
                        rs.getString(2),
                        Payloads.JSON.readValue(
                                rs.getString(3), new com.fasterxml.jackson.core.type.TypeReference<List<String>>() {}),
                        rs.getString(4),
                        Payloads.JSON.readTree(rs.getString(5)),
                        rs.getString(6) == null ? null : Payloads.JSON.readTree(rs.getString(6)),
                        rs.getString(7),
                        rs.getTimestamp(8).toInstant()));
            }
        }
        return out;
    }
}
