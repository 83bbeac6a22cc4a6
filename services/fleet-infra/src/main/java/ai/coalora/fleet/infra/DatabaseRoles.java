package ai.coalora.fleet.infra;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One database role per service, each owning its service's schema and nothing else: it may migrate and use its own
 * tables, cannot read or write another service's, and is no superuser (no roles, no databases, no extensions). A
 * compromised service can then damage only its own state. Run as a superuser when the database is set up and at every
 * start of a deployment (passwords are new each time, so only the services started with them know them); a schema
 * created before the roles existed is handed to its role with everything in it. The work is {@code
 * deploy/k8s/db-roles.sql}, the script a Kubernetes deployment runs with psql.
 */
public final class DatabaseRoles {
    /** The schema of each service (its application.properties' {@code quarkus.flyway.schemas}). */
    public static final Map<String, String> SCHEMAS = Map.of(
            "registry", "registry", "planner", "planner", "adapter-generator", "generator", "trainer", "trainer");

    /** The script, on the classpath next to this class. */
    static final String SCRIPT = "db-roles.sql";

    private static final Pattern VARIABLE = Pattern.compile(":'([a-z]+)'");
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
        String script = script();
        Map<String, Login> out = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection(superuserUrl, superuser, superuserPassword)) {
            for (String service : services) {
                String schema = SCHEMAS.get(service);
                if (schema == null) throw new IllegalArgumentException("no schema for service " + service);
                out.put(service, provision(c, script, database, schema));
            }
        }
        return out;
    }

    /** Creates (or re-keys) the role {@code coalora_<schema>} that owns {@code schema}; returns its login. */
    public static Login provisionSchema(
            String superuserUrl, String superuser, String superuserPassword, String database, String schema)
            throws SQLException {
        try (Connection c = DriverManager.getConnection(superuserUrl, superuser, superuserPassword)) {
            return provision(c, script(), database, schema);
        }
    }

    private static Login provision(Connection c, String script, String database, String schema) throws SQLException {
        Login login = new Login("coalora_" + schema, password());
        try (Statement st = c.createStatement()) {
            st.execute(bind(
                    script,
                    Map.of(
                            "database",
                            database,
                            "role",
                            login.user(),
                            "schema",
                            schema,
                            "password",
                            login.password())));
        }
        return login;
    }

    private static String script() {
        try (InputStream in = DatabaseRoles.class.getResourceAsStream(SCRIPT)) {
            if (in == null) throw new IllegalStateException(SCRIPT + " is missing from the classpath");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Substitutes psql's {@code :'name'} variables with SQL string literals, as {@code psql -v name=value} does. */
    static String bind(String script, Map<String, String> variables) {
        Matcher m = VARIABLE.matcher(script);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String value = variables.get(m.group(1));
            if (value == null) throw new IllegalArgumentException("no value for :'" + m.group(1) + "'");
            m.appendReplacement(out, Matcher.quoteReplacement("'" + value.replace("'", "''") + "'"));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String password() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
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
