package ai.coalora.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.coalora.registry.DeviceCredentials.Enrolment;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The audit log fails closed: an operator's action commits together with its audit record, and an action whose record
 * cannot be written does not happen (real PostgreSQL, the registry's migrations and its actions as the API runs them).
 */
class AuditLogIT {
    static RegistryTestDatabase db;
    static Rollouts rollouts;
    static DeviceCredentials credentials;

    @BeforeAll
    static void start() throws Exception {
        db = RegistryTestDatabase.start();
        rollouts = new Rollouts(db.dataSource, new RegistryService(null));
        credentials = new DeviceCredentials(db.dataSource);
    }

    @AfterAll
    static void stop() {
        if (db != null) db.close();
    }

    @AfterEach
    void unbind() {
        AuditLog.bind(null);
    }

    @Test
    void anActionCommitsWithItsRecord() throws Exception {
        String version = db.version();
        List<String> devices = db.devices(2);
        AuditLog.bind(new AuditLog.Entry("alice", true, "operator,viewer", "POST", "/api/rollouts", 201, "10.0.0.7"));
        String id = rollouts.create(RolloutLifecycleIT.plan(version, devices, List.of(1.0), null, null))
                .rolloutId();
        assertEquals(1L, count("select count(*) from rollouts where rollout_id = ?", id));
        assertEquals(
                "alice POST /api/rollouts 201 10.0.0.7",
                db.value("select actor || ' ' || method || ' ' || path || ' ' || status || ' ' || remote "
                        + "from audit_log order by id desc limit 1"));
    }

    @Test
    void anActionWhoseRecordCannotBeWrittenDoesNotHappen() throws Exception {
        String version = db.version();
        List<String> devices = db.devices(2);
        long rolloutsBefore = count("select count(*) from rollouts"),
                auditBefore = count("select count(*) from audit_log");
        // a record the log refuses (no method: the column is NOT NULL), as a full disk or a revoked grant would
        AuditLog.bind(new AuditLog.Entry("mallory", true, "operator", null, "/api/rollouts", 201, null));
        assertThrows(
                SQLException.class,
                () -> rollouts.create(RolloutLifecycleIT.plan(version, devices, List.of(1.0), null, null)));
        String device = "audit-" + System.nanoTime();
        assertThrows(SQLException.class, () -> credentials.enrol(new Enrolment(List.of(device), null), "mallory"));
        assertEquals(rolloutsBefore, count("select count(*) from rollouts"), "no rollout without its record");
        assertEquals(
                0L,
                count(
                        "select count(*) from rollout_devices where device_id = any(string_to_array(?, ','))",
                        String.join(",", devices)));
        assertEquals(List.of(), credentials.history(device), "no credential without its record");
        assertEquals(auditBefore, count("select count(*) from audit_log"));
    }

    private static long count(String sql, Object... params) throws SQLException {
        return ((Number) db.value(sql, params)).longValue();
    }
}
