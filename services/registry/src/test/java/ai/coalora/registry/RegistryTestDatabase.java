package ai.coalora.registry;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.infra.TestDatabase;
import ai.coalora.fleet.planning.QualityMeasure;
import io.agroal.api.AgroalDataSource;
import java.io.IOException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The registry's schema on a {@link TestDatabase} (a real PostgreSQL from a jar, the registry's migrations, a pool):
 * what the registry's handler tests run against instead of a broker. Also the fixtures they share: registered
 * versions, devices.
 */
final class RegistryTestDatabase implements AutoCloseable {
    final TestDatabase database;
    final AgroalDataSource dataSource;

    private RegistryTestDatabase(TestDatabase database) {
        this.database = database;
        this.dataSource = database.dataSource();
    }

    static RegistryTestDatabase start() throws IOException, SQLException {
        return new RegistryTestDatabase(
                TestDatabase.start("registry", "classpath:db/messaging", "classpath:db/registry"));
    }

    /** A registered model version (an empty front) under a fresh id. */
    String version() throws SQLException {
        return version(QualityMeasure.ACCURACY);
    }

    /** A registered model version (an empty front) whose front predicts {@code measure}, under a fresh id. */
    String version(QualityMeasure measure) throws SQLException {
        String v = UUID.randomUUID().toString().replace("-", "")
                + UUID.randomUUID().toString().replace("-", "");
        exec(
                "insert into model_versions (model_version, task, base_model, measure, files, front) "
                        + "values (?, 'sentiment', 'test', ?, '[]'::jsonb, '[]'::jsonb)",
                v,
                measure.jsonName());
        return v;
    }

    /** A registered model version with a one-configuration front, as a promotion needs (its event carries the front). */
    String versionWithFront() throws SQLException {
        String v = UUID.randomUUID().toString().replace("-", "")
                + UUID.randomUUID().toString().replace("-", "");
        exec(
                "insert into model_versions (model_version, task, base_model, files, front) values (?, 'sentiment', 'test', '[]'::jsonb, ?::jsonb)",
                v,
                "[{\"configId\": \"" + "5".repeat(64) + "\", \"averageBits\": 3.02, \"predictedAccuracy\": 0.87, "
                        + "\"weightBits\": [3], \"runtimeFormats\": [\"coalora-packed\"], \"weightBytes\": 8541184, "
                        + "\"adapterBytes\": 1213440}]");
        return v;
    }

    /** {@code n} phones (1 GiB, 4 and 8 bits) that announced capabilities and run something (predicted accuracy 0.9), in id order. */
    List<String> devices(int n) throws SQLException {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = "dev-" + UUID.randomUUID().toString().substring(0, 8);
            String capabilities = Payloads.toJson(new DeviceCapabilities(
                            id, 1L << 30, List.of(4, 8), List.of("coalora-packed"), "phone", 0L, Map.of()))
                    .toString();
            exec(
                    "insert into devices (device_id, capabilities, feasible, predicted_quality) values (?, ?::jsonb, true, 0.9)",
                    id,
                    capabilities);
            out.add(id);
        }
        out.sort(null);
        return out;
    }

    void inTransaction(TestDatabase.Work work) throws Exception {
        database.inTransaction(work);
    }

    void exec(String sql, Object... params) throws SQLException {
        database.exec(sql, params);
    }

    Object value(String sql, Object... params) throws SQLException {
        return database.value(sql, params);
    }

    @Override
    public void close() {
        database.close();
    }
}
