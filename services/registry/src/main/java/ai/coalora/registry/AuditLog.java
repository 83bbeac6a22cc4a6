package ai.coalora.registry;

import ai.coalora.fleet.gateway.GatewayClient;
import io.agroal.api.AgroalDataSource;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.quarkus.vertx.http.runtime.security.QuarkusHttpUser;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Base64;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every operator action in the append-only {@code audit_log}: each request that can change state (POST, PUT,
 * PATCH, DELETE), allowed or denied, with who made it, the path and the status answered. Reads are not audited.
 *
 * <p>An action that changes something is recorded inside its own transaction ({@link #action} around the call,
 * {@link #inTransaction} just before the commit): if the record cannot be written, the action is rolled back and the
 * request fails. So the log fails closed: nothing changes without its record. A request that changed nothing (refused
 * credentials, a 4xx) is recorded when its answer has been sent.
 */
@ApplicationScoped
public class AuditLog {
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    static final Set<String> ACTIONS = Set.of("POST", "PUT", "PATCH", "DELETE");
    /** Marks a request whose record was committed with its action (the end-of-request record is skipped). */
    static final String RECORDED = "coalora.audit.recorded";

    /** One audit record: who did what, and the answer. */
    record Entry(
            String actor, boolean authenticated, String roles, String method, String path, int status, String remote) {}

    /** The action the current thread is carrying out for a request, and whether its record went into a transaction. */
    private static final class Bound {
        final Entry entry;
        boolean written;

        Bound(Entry entry) {
            this.entry = entry;
        }
    }

    private static final ThreadLocal<Bound> CURRENT = new ThreadLocal<>();

    final AgroalDataSource dataSource;
    final Vertx vertx;
    final CurrentVertxRequest request;

    AuditLog(AgroalDataSource dataSource, Vertx vertx, CurrentVertxRequest request) {
        this.dataSource = dataSource;
        this.vertx = vertx;
        this.request = request;
    }

    /**
     * Runs an operator's action for the current request; the transaction that carries it out writes the audit record
     * with {@code status} (the answer on success) before it commits.
     */
    public <T> T action(int status, Callable<T> action) throws Exception {
        RoutingContext rc = request.getCurrent();
        Bound b = new Bound(entry(rc, status));
        CURRENT.set(b);
        try {
            T result = action.call();
            // it committed with its record; an action that changed nothing (the same upload again) is recorded at the
            // end
            if (b.written) rc.put(RECORDED, Boolean.TRUE);
            return result;
        } finally {
            CURRENT.remove();
        }
    }

    /**
     * Writes the record of the action the current thread carries out, in {@code c}'s transaction (a no-op outside an
     * {@link #action}: an event-driven change is recorded by its event). A failure here fails the transaction.
     */
    static void inTransaction(Connection c) throws SQLException {
        Bound b = CURRENT.get();
        if (b == null) return;
        insert(c, b.entry);
        b.written = true; // if the transaction then rolls back, the action throws and the end-of-request record is kept
    }

    /** Binds {@code e} to this thread for the actions it runs next (null unbinds); the handler tests use it. */
    static void bind(Entry e) {
        if (e == null) CURRENT.remove();
        else CURRENT.set(new Bound(e));
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
            rc.addEndHandler(done -> {
                if (Boolean.TRUE.equals(rc.get(RECORDED))) return;
                Entry e = entry(rc, rc.response().getStatusCode());
                vertx.executeBlocking(
                        () -> {
                            try (Connection c = dataSource.getConnection()) {
                                insert(c, e);
                            } catch (Exception ex) {
                                // nothing changed with this request: its record is lost, not the action's
                                LOG.error(
                                        "could not write the audit record of a refused request {}: {}",
                                        e,
                                        ex.toString());
                            }
                            return null;
                        },
                        false);
            });
        }
        rc.next();
    }

    private static Entry entry(RoutingContext rc, int status) {
        SecurityIdentity who = rc.user() instanceof QuarkusHttpUser u ? u.getSecurityIdentity() : null;
        boolean authenticated = who != null && !who.isAnonymous();
        String actor = authenticated
                ? who.getPrincipal().getName()
                : claimedUser(rc.request().getHeader("Authorization"));
        String roles = authenticated ? String.join(",", new TreeSet<>(who.getRoles())) : null;
        String remote = rc.request().remoteAddress() == null
                ? null
                : rc.request().remoteAddress().host();
        String path = rc.request().uri();
        return new Entry(
                actor,
                authenticated,
                roles,
                rc.request().method().name(),
                path.length() > 2000 ? path.substring(0, 2000) : path,
                status,
                remote);
    }

    private static void insert(Connection c, Entry e) throws SQLException {
        try (PreparedStatement st =
                c.prepareStatement("insert into audit_log (actor, authenticated, roles, method, path, status, remote) "
                        + "values (?, ?, ?, ?, ?, ?, ?)")) {
            st.setString(1, e.actor());
            st.setBoolean(2, e.authenticated());
            st.setString(3, e.roles());
            st.setString(4, e.method());
            st.setString(5, e.path());
            st.setInt(6, e.status());
            st.setString(7, e.remote());
            st.executeUpdate();
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
