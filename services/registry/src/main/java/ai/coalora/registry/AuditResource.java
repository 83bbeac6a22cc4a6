package ai.coalora.registry;

import ai.coalora.fleet.security.Role;
import io.agroal.api.AgroalDataSource;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** The audit log of operator actions, for admins. */
@Path("/api/audit")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Role.ADMIN_NAME)
public class AuditResource {
    public record Entry(
            long id,
            Instant at,
            String actor,
            boolean authenticated,
            String roles,
            String method,
            String path,
            int status,
            String remote) {}

    final AgroalDataSource dataSource;

    AuditResource(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    @GET
    @Operation(summary = "Operator actions, newest first (admin): who, method, path, status; denied attempts included")
    public List<Entry> list(@QueryParam("limit") @DefaultValue("200") int limit) throws Exception {
        List<Entry> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select id, at, actor, authenticated, roles, method, path, status, remote from audit_log "
                                + "order by id desc limit ?")) {
            st.setInt(1, Math.max(1, Math.min(limit, 10_000)));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Entry(
                            rs.getLong(1),
                            rs.getTimestamp(2).toInstant(),
                            rs.getString(3),
                            rs.getBoolean(4),
                            rs.getString(5),
                            rs.getString(6),
                            rs.getString(7),
                            rs.getInt(8),
                            rs.getString(9)));
                }
            }
        }
        return out;
    }
}
