package ai.coalora.registry;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.events.Payloads.RetrainingRequested;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

/**
 * Watches fleet accuracy per (version, configuration): when the latest telemetry of at least
 * {@code minDevices} devices averages more than {@code margin} below what the Pareto front predicted for
 * that configuration, it raises one retraining request naming the configuration (none while one is open).
 * Versions under a rollout that has not succeeded are left to the rollout's accuracy gate.
 */
record RetrainingMonitor(double margin, int minDevices) {
    static final String SOURCE = "/coalora/registry/retraining";

    void onTelemetry(Transaction tx, EvaluationTelemetry t) throws SQLException {
        Connection c = tx.connection();
        Double predicted = null;
        try (PreparedStatement st = c.prepareStatement("select (e->>'predictedAccuracy')::float from model_versions, jsonb_array_elements(front) e "
                + "where model_version = ? and e->>'configId' = ? and not exists (select 1 from rollouts r where r.model_version = ? "
                + "and r.state <> 'succeeded') and not exists (select 1 from retraining_requests q where q.model_version = ? "
                + "and q.result_version is null and q.config_ids @> jsonb_build_array(?::text))")) {
            st.setString(1, t.modelVersion());
            st.setString(2, t.configId());
            st.setString(3, t.modelVersion());
            st.setString(4, t.modelVersion());
            st.setString(5, t.configId());
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next()) predicted = rs.getDouble(1);
            }
        }
        if (predicted == null) return; // unknown configuration, under a rollout, or already requested
        int devices;
        double measured;
        try (PreparedStatement st = c.prepareStatement("select count(*), avg(accuracy) from (select distinct on (device_id) accuracy from telemetry "
                + "where model_version = ? and config_id = ? order by device_id, id desc) latest")) {
            st.setString(1, t.modelVersion());
            st.setString(2, t.configId());
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                devices = rs.getInt(1);
                measured = rs.getDouble(2);
            }
        }
        if (devices < minDevices || measured >= predicted - margin) return;
        String id = "rt-" + UUID.randomUUID().toString().substring(0, 8);
        String reason = String.format("fleet accuracy %.4f on %d devices is %.4f below the predicted %.4f (margin %.2f) for configuration %s of %s",
                measured, devices, predicted - measured, predicted, margin, t.configId().substring(0, 12), t.modelVersion().substring(0, 12));
        ObjectNode evidence = Payloads.JSON.createObjectNode().put("configId", t.configId()).put("devices", devices).put("measuredAccuracy", measured)
                .put("predictedAccuracy", predicted).put("margin", margin).put("lastTelemetryFrom", t.deviceId());
        RolloutEngine.exec(c, "insert into retraining_requests (request_id, model_version, config_ids, reason, evidence) values (?, ?, ?::jsonb, ?, ?::jsonb)",
                id, t.modelVersion(), Payloads.toJson(List.of(t.configId())).toString(), reason, evidence.toString());
        RetrainingRequested r = new RetrainingRequested(id, t.modelVersion(), List.of(t.configId()), reason, evidence);
        tx.publish(Topic.RETRAINING_REQUESTS, id, CloudEvent.withId(id, SOURCE, EventTypes.RETRAINING_REQUESTED, id,
                ServiceRuntime.schemas().dataschema(EventTypes.RETRAINING_REQUESTED), Payloads.toJson(r)));
    }
}
