package ai.coalora.registry;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.infra.EmbeddedDatabase;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.Flyway;

/**
 * A real PostgreSQL (from a jar) with the registry's migrations, and a pool onto its schema: what the registry's
 * handler tests run against instead of a broker. Also the fixtures they share: registered versions, devices.
 */
final class RegistryTestDatabase implements AutoCloseable {
    final EmbeddedDatabase database;
    final AgroalDataSource dataSource;

    private RegistryTestDatabase(EmbeddedDatabase database, AgroalDataSource dataSource) {
        this.database = database;
        this.dataSource = dataSource;
    }

    static RegistryTestDatabase start() throws IOException, SQLException {
        EmbeddedDatabase database = EmbeddedDatabase.start(Files.createTempDirectory("coalora-registry-db"), 0);
        String url = database.jdbcUrl("postgres") + "?currentSchema=registry";
        Flyway.configure().dataSource(url, EmbeddedDatabase.USER, "").schemas("registry").locations("classpath:db/messaging", "classpath:db/registry")
                .outOfOrder(true).load().migrate();
        AgroalDataSource dataSource = AgroalDataSource.from(new AgroalDataSourceConfigurationSupplier().connectionPoolConfiguration(pool -> pool
                .maxSize(4).connectionFactoryConfiguration(factory -> factory.jdbcUrl(url).principal(new NamePrincipal(EmbeddedDatabase.USER)))));
        return new RegistryTestDatabase(database, dataSource);
    }

    /** A registered model version (an empty front) under a fresh id. */
    String version() throws SQLException {
        String v = UUID.randomUUID().toString().replace("-", "") + UUID.randomUUID().toString().replace("-", "");
        exec("insert into model_versions (model_version, task, base_model, files, front) values (?, 'sentiment', 'test', '[]'::jsonb, '[]'::jsonb)", v);
        return v;
    }

    /** {@code n} phones (1 GiB, 4 and 8 bits) that announced capabilities and run something (predicted accuracy 0.9), in id order. */
    List<String> devices(int n) throws SQLException {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = "dev-" + UUID.randomUUID().toString().substring(0, 8);
            String capabilities = Payloads.toJson(new DeviceCapabilities(id, 1L << 30, List.of(4, 8), List.of("coalora-packed"), "phone", 0L,
                    Map.of())).toString();
            exec("insert into devices (device_id, capabilities, feasible, predicted_accuracy) values (?, ?::jsonb, true, 0.9)", id, capabilities);
            out.add(id);
        }
        out.sort(null);
        return out;
    }

    interface Work {
        void run(Transaction tx) throws Exception;
    }

    /** Runs {@code work} in one transaction, as the event processor does: committed, or rolled back if it throws. */
    void inTransaction(Work work) throws Exception {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                work.run(new Transaction(c, ServiceRuntime.schemas()));
                c.commit();
            } catch (Exception e) {
                c.rollback();
                throw e;
            }
        }
    }

    void exec(String sql, Object... params) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            RolloutEngine.exec(c, sql, params);
        }
    }

    /** The first column of the first row of {@code sql}, or null without rows. */
    Object value(String sql, Object... params) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) st.setObject(i + 1, params[i]);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? rs.getObject(1) : null;
            }
        }
    }

    @Override
    public void close() {
        dataSource.close();
        database.close();
    }
}
