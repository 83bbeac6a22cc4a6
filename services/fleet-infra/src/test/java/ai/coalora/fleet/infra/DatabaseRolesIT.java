package ai.coalora.fleet.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The services' database roles on a real PostgreSQL: each works in its own schema, cannot touch another's, cannot
 * make roles, schemas or databases, and logs in only with its password. Provisioning again re-keys the roles and hands
 * a schema created earlier by the superuser to its service.
 */
class DatabaseRolesIT {
    static EmbeddedDatabase db;
    static Map<String, DatabaseRoles.Login> logins;
    static String url;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory("coalora-roles-");
        db = EmbeddedDatabase.start(dir, 0);
        db.createDatabase("fleet");
        url = db.jdbcUrl("fleet");
        // a schema the superuser made before roles existed (an older deployment): handed over to its service
        try (Connection c = DriverManager.getConnection(url, EmbeddedDatabase.USER, "");
                Statement s = c.createStatement()) {
            s.execute("create schema planner");
            s.execute("create table planner.devices (device_id text primary key, seq bigserial)");
            s.execute("create function planner.touch() returns int language sql as 'select 1'");
        }
        logins = new HashMap<>(
                DatabaseRoles.provision(url, EmbeddedDatabase.USER, "", "fleet", List.of("registry", "planner")));
    }

    @AfterAll
    static void stop() {
        if (db != null) db.close();
    }

    static Connection as(String service) throws SQLException {
        DatabaseRoles.Login l = logins.get(service);
        return DriverManager.getConnection(url, l.user(), l.password());
    }

    @Test
    void aServiceWorksInItsOwnSchemaAndNowhereElse() throws Exception {
        try (Connection registry = as("registry");
                Statement s = registry.createStatement()) {
            s.execute("create table registry.things (id int)");
            s.execute("insert into registry.things values (1)");
            for (String forbidden : List.of(
                    "select * from planner.devices",
                    "insert into planner.devices values ('x')",
                    "create table planner.intruder (id int)",
                    "create table public.intruder (id int)",
                    "create schema other",
                    "create role mallory",
                    "create database other",
                    "drop schema planner cascade")) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(forbidden), forbidden);
                assertEquals("42501", e.getSQLState(), forbidden + ": " + e.getMessage()); // insufficient privilege
            }
        }
        try (Connection planner = as("planner");
                Statement s = planner.createStatement()) {
            s.execute("insert into planner.devices values ('d1')"); // its table from before the roles: now its own
            s.execute("select planner.touch()");
            s.execute("drop function planner.touch()"); // owned, with the serial's sequence and the table
            assertEquals(
                    "42501",
                    assertThrows(SQLException.class, () -> s.execute("select * from registry.things"))
                            .getSQLState());
        }
    }

    @Test
    void aRoleLogsInOnlyWithItsPasswordAndProvisioningAgainReKeysIt() throws Exception {
        DatabaseRoles.Login registry = logins.get("registry");
        SQLException wrong = assertThrows(
                SQLException.class, () -> DriverManager.getConnection(url, registry.user(), "not-the-password"));
        assertEquals("28P01", wrong.getSQLState(), wrong.getMessage()); // invalid password
        assertThrows(SQLException.class, () -> DriverManager.getConnection(url, registry.user(), ""));

        Map<String, DatabaseRoles.Login> again =
                DatabaseRoles.provision(url, EmbeddedDatabase.USER, "", "fleet", List.of("registry"));
        assertNotEquals(registry.password(), again.get("registry").password());
        assertEquals(
                "28P01",
                assertThrows(
                                SQLException.class,
                                () -> DriverManager.getConnection(url, registry.user(), registry.password()))
                        .getSQLState(),
                "the old password no longer works");
        try (Connection c = DriverManager.getConnection(
                url, registry.user(), again.get("registry").password())) {
            assertEquals(1, c.createStatement().executeQuery("select 1").next() ? 1 : 0);
        }
        logins.put("registry", again.get("registry"));
    }
}
