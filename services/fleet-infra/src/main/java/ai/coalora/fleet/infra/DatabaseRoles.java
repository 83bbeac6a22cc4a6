package ai.coalora.fleet.infra;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One database role per service, each owning its service's schema and nothing else: it may migrate and use its own
 * tables, cannot read or write another service's, and is no superuser (no roles, no databases, no extensions). A
 * compromised service can then damage only its own state. Run as a superuser when the database is set up and at every
 * start of a deployment (passwords are new each time, so only the services started with them know them); existing
 * objects of a schema created before the roles existed are handed to its role.
 */
public final class DatabaseRoles {
    /** The schema of each service (its application.properties' {@code quarkus.flyway.schemas}). */
    public static final Map<String, String> SCHEMAS = Map.of(
            "registry", "registry", "planner", "planner", "adapter-generator", "generator", "trainer", "trainer");

    private static final SecureRandom RANDOM = new SecureRandom();

    /** A service's login. */
    public record Login(String user, String password) {}

    private DatabaseRoles() {}

    /** The role of {@code service}. */
    public static String roleOf(String service) {
        return "coalora_" + SCHEMAS.get(service);
    }

    /**
     * Creates (or re-keys) the role of each service in {@code services} on database {@code database} at {@code
     * superuserUrl}, connected as {@code superuser}; returns each service's login.
     */
    public static Map<String, Login> provision(
            String superuserUrl, String superuser, String superuserPassword, String database, List<String> services)
            throws SQLException {
        Map<String, Login> out = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection(superuserUrl, superuser, superuserPassword);
                Statement st = c.createStatement()) {
            // nobody but an owner creates anything in public; no role but the services' connects
            st.execute("revoke create on schema public from public");
            st.execute("revoke all on database " + quote(database) + " from public");
            for (String service : services) {
                String schema = SCHEMAS.get(service);
                if (schema == null) throw new IllegalArgumentException("no schema for service " + service);
                String role = roleOf(service), password = password();
                boolean exists;
                try (PreparedStatement q = c.prepareStatement("select 1 from pg_roles where rolname = ?")) {
                    q.setString(1, role);
                    try (ResultSet rs = q.executeQuery()) {
                        exists = rs.next();
                    }
                }
                st.execute((exists ? "alter role " : "create role ") + quote(role)
                        + " login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password "
                        + literal(password));
                st.execute("grant connect, temporary on database " + quote(database) + " to " + quote(role));
                st.execute("create schema if not exists " + quote(schema) + " authorization " + quote(role));
                handOver(c, schema, role);
                out.put(service, new Login(role, password));
            }
        }
        return out;
    }

    /** Makes {@code role} the owner of {@code schema} and of everything in it (tables, sequences, views, functions). */
    private static void handOver(Connection c, String schema, String role) throws SQLException {
        List<String> statements = new ArrayList<>();
        statements.add("alter schema " + quote(schema) + " owner to " + quote(role));
        try (PreparedStatement q = c.prepareStatement("select c.relname, c.relkind from pg_class c "
                + "join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relkind in ('r','p','v','m','S') "
                + "and pg_get_userbyid(c.relowner) <> ?")) {
            q.setString(1, schema);
            q.setString(2, role);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) {
                    String kind = switch (rs.getString(2)) {
                        case "v" -> "view";
                        case "m" -> "materialized view";
                        case "S" -> "sequence";
                        default -> "table";
                    };
                    statements.add("alter " + kind + " " + quote(schema) + "." + quote(rs.getString(1)) + " owner to "
                            + quote(role));
                }
            }
        }
        try (PreparedStatement q = c.prepareStatement(
                "select p.oid::regprocedure::text from pg_proc p "
                        + "join pg_namespace n on n.oid = p.pronamespace where n.nspname = ? and pg_get_userbyid(p.proowner) <> ?")) {
            q.setString(1, schema);
            q.setString(2, role);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) statements.add("alter function " + rs.getString(1) + " owner to " + quote(role));
            }
        }
        try (Statement st = c.createStatement()) {
            for (String s : statements) st.execute(s);
        }
    }

    private static String password() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    private static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    /**
     * {@code DatabaseRoles JDBC_URL DATABASE SERVICE...} (superuser from COALORA_DB_SUPERUSER, default postgres, and
     * COALORA_DB_SUPERUSER_PASSWORD): provisions the roles and prints {@code SERVICE USER PASSWORD} lines for the
     * deployment scripts.
     */
    public static void main(String[] args) throws SQLException {
        if (args.length < 3) {
            System.err.println("usage: DatabaseRoles JDBC_URL DATABASE SERVICE...");
            System.exit(2);
        }
        String su = System.getenv().getOrDefault("COALORA_DB_SUPERUSER", EmbeddedDatabase.USER);
        String suPassword = System.getenv().getOrDefault("COALORA_DB_SUPERUSER_PASSWORD", "");
        Map<String, Login> logins =
                provision(args[0], su, suPassword, args[1], List.of(args).subList(2, args.length));
        logins.forEach((s, l) -> System.out.println(s + " " + l.user() + " " + l.password()));
    }
}
