package ai.coalora.fleet.infra;

import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;

/**
 * A throwaway PostgreSQL for a service's handler tests: started from the jar in a temporary directory, one schema
 * migrated with the service's Flyway locations (as its application.properties configures them), and a pool onto that
 * schema. Handlers run in {@link #inTransaction} as the event processor runs them, with no broker: what they publish
 * stays in the outbox table, where the tests read it with SQL.
 */
public final class TestDatabase implements AutoCloseable {
    private final Path dataDir;
    private final EmbeddedDatabase database;
    private final AgroalDataSource dataSource;

    private TestDatabase(Path dataDir, EmbeddedDatabase database, AgroalDataSource dataSource) {
        this.dataDir = dataDir;
        this.database = database;
        this.dataSource = dataSource;
    }

    /**
     * Starts PostgreSQL and migrates {@code schema} from {@code locations} (e.g. {@code classpath:db/messaging},
     * {@code classpath:db/planner}), out of order allowed as the services allow it.
     */
    public static TestDatabase start(String schema, String... locations) throws IOException, SQLException {
        Path dir = Files.createTempDirectory("coalora-" + schema + "-db");
        EmbeddedDatabase database = EmbeddedDatabase.start(dir, 0);
        try {
            // as the service runs: its own role, owning its schema and nothing else (a migration that needs more fails)
            DatabaseRoles.Login login = DatabaseRoles.provisionSchema(
                    database.jdbcUrl("postgres"), EmbeddedDatabase.USER, "", "postgres", schema);
            String url = database.jdbcUrl("postgres") + "?currentSchema=" + schema;
            Flyway.configure()
                    .dataSource(url, login.user(), login.password())
                    .schemas(schema)
                    .locations(locations)
                    .outOfOrder(true)
                    .load()
                    .migrate();
            AgroalDataSource dataSource = AgroalDataSource.from(new AgroalDataSourceConfigurationSupplier()
                    .connectionPoolConfiguration(pool -> pool.maxSize(4)
                            .connectionFactoryConfiguration(factory -> factory.jdbcUrl(url)
                                    .principal(new NamePrincipal(login.user()))
                                    .credential(new SimplePassword(login.password())))));
            return new TestDatabase(dir, database, dataSource);
        } catch (Exception e) {
            database.close();
            delete(dir);
            throw e;
        }
    }

    public AgroalDataSource dataSource() {
        return dataSource;
    }

    /** Work on one event (or a batch), in one transaction. */
    public interface Work {
        void run(Transaction tx) throws Exception;
    }

    /**
     * Runs {@code work} in one transaction, as the event processor does: committed and then its after-commit actions
     * run (metrics), or rolled back with none of them if it throws.
     */
    public void inTransaction(Work work) throws Exception {
        Transaction tx;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            tx = new Transaction(c, ServiceRuntime.schemas());
            try {
                work.run(tx);
                c.commit();
            } catch (Exception e) {
                c.rollback();
                throw e;
            }
        }
        for (Runnable action : tx.takeAfterCommit()) action.run();
    }

    /** Runs one statement that returns no rows, committed on its own. */
    public void exec(String sql, Object... params) throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(sql)) {
            bind(st, params);
            st.executeUpdate();
        }
    }

    /** The first column of the first row of {@code sql}, or null without rows. */
    public Object value(String sql, Object... params) throws SQLException {
        List<Object> column = column(sql, params);
        return column.isEmpty() ? null : column.get(0);
    }

    /** The first column of every row of {@code sql}, in the order the query returns them. */
    public List<Object> column(String sql, Object... params) throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(sql)) {
            bind(st, params);
            try (ResultSet rs = st.executeQuery()) {
                List<Object> out = new ArrayList<>();
                while (rs.next()) out.add(rs.getObject(1));
                return out;
            }
        }
    }

    /** {@code select count(*) ...} (or any query whose first value is a number) as a long. */
    public long count(String sql, Object... params) throws SQLException {
        return ((Number) value(sql, params)).longValue();
    }

    private static void bind(PreparedStatement st, Object[] params) throws SQLException {
        for (int i = 0; i < params.length; i++) st.setObject(i + 1, params[i]);
    }

    /** Closes the pool, stops PostgreSQL and deletes its data directory. */
    @Override
    public void close() {
        try {
            dataSource.close();
            database.close();
        } finally {
            delete(dataDir);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a temporary directory left behind is harmless
        }
    }
}
