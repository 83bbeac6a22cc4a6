package ai.coalora.registry;

import ai.coalora.fleet.gateway.GatewayClient;
import io.agroal.api.AgroalDataSource;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.quarkus.vertx.http.runtime.security.QuarkusHttpUser;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.Base64;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every operator action in the append-only {@code audit_log}: each request that can change state
 * (POST, PUT, PATCH, DELETE), allowed or denied, with who made it, the path and the status answered. Reads are
 * not audited. The row is written on a worker thread when the response has been sent.
 */
@ApplicationScoped
public class AuditLog {
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    static final Set<String> ACTIONS = Set.of("POST", "PUT", "PATCH", "DELETE");

    final AgroalDataSource dataSource;
    final Vertx vertx;

    AuditLog(AgroalDataSource dataSource, Vertx vertx) {
        this.dataSource = dataSource;
        this.vertx = vertx;
    }

    /** Above Quarkus's authentication filter (200): rejected credentials are audited too. */
    static final int PRIORITY = 300;

    void register(@Observes Filters filters) {
        filters.register(this::audit, PRIORITY);
    }

    private void audit(RoutingContext rc) {
        String method = rc.request().method().name();
        // devices' reports are not operator actions: each is a fleet event with its own id, recorded as such
        if (ACTIONS.contains(method) && !rc.request().path().startsWith("/" + GatewayClient.PREFIX)) {
            String path = rc.request().uri(),
                    remote =
                            rc.request().remoteAddress() == null
                                    ? null
                                    : rc.request().remoteAddress().host();
            String claimed = claimedUser(rc.request().getHeader("Authorization"));
            rc.addEndHandler(done -> {
                SecurityIdentity who = rc.user() instanceof QuarkusHttpUser u ? u.getSecurityIdentity() : null;
                boolean authenticated = who != null && !who.isAnonymous();
                String actor = authenticated ? who.getPrincipal().getName() : claimed;
                String roles = authenticated ? String.join(",", new TreeSet<>(who.getRoles())) : null;
                int status = rc.response().getStatusCode();
                vertx.executeBlocking(
                        () -> {
                            write(actor, authenticated, roles, method, path, status, remote);
                            return null;
                        },
                        false);
            });
        }
        rc.next();
    }

    private void write(
            String actor, boolean authenticated, String roles, String method, String path, int status, String remote) {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "insert into audit_log (actor, authenticated, roles, method, path, status, remote) "
                                + "values (?, ?, ?, ?, ?, ?, ?)")) {
            st.setString(1, actor);
            st.setBoolean(2, authenticated);
            st.setString(3, roles);
            st.setString(4, method);
            st.setString(5, path.length() > 2000 ? path.substring(0, 2000) : path);
            st.setInt(6, status);
            st.setString(7, remote);
            st.executeUpdate();
        } catch (Exception e) {
            LOG.error(
                    "could not write the audit record of {} {} by {} ({}): {}",
                    method,
                    path,
                    actor,
                    status,
                    e.toString());
        }
    }

    /** The user name of a Basic Authorization header, for denied attempts; never the password. */
    static String claimedUser(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) return null;
        try {
            String decoded = new String(
                    Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            String user = colon < 0 ? decoded : decoded.substring(0, colon);
            return user.length() > 64 ? user.substring(0, 64) : user;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
