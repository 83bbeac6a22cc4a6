package ai.coalora.registry;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.messaging.EventHandler;
import ai.coalora.fleet.messaging.EventTimes;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.planning.QualityMeasure;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** Records what the fleet's events say: devices' capabilities, assignments, adapters and telemetry. */
final class FleetEventsHandler implements EventHandler {
    private final RetrainingMonitor retraining;
    /** Registered versions met so far and the measure of their fronts. */
    private final Map<String, QualityMeasure> knownVersions = new ConcurrentHashMap<>();

    private final RegistryMetrics metrics;

    private final Consumer<String> packageChanged;

    /** @param packageChanged hears each device whose package changed, after the commit (the gateway's held requests) */
    FleetEventsHandler(RetrainingMonitor retraining, RegistryMetrics metrics, Consumer<String> packageChanged) {
        this.retraining = retraining;
        this.metrics = metrics;
        this.packageChanged = packageChanged;
    }

    @Override
    public void begin(List<CloudEvent> fresh, Transaction tx) throws SQLException {
        // the lock order: the active rollouts of the batch's devices, then device rows, then rollout-device rows, as an
        // operator's action (which locks its rollout first) takes them
        Set<String> devices = new TreeSet<>();
        for (CloudEvent e : fresh) {
            String device = e.data().path("deviceId").asText("");
            if (!device.isEmpty()) devices.add(device);
        }
        RolloutEngine.lockRolloutsOf(tx.connection(), devices);
    }

    @Override
    public void apply(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException {
        Connection c = tx.connection();
        switch (event.type()) {
            case EventTypes.CAPABILITIES -> {
                DeviceCapabilities d = EventHandler.data(event, DeviceCapabilities.class);
                try (PreparedStatement st = c.prepareStatement(
                        "insert into devices (device_id, capabilities, capabilities_event_id, capabilities_at, "
                                + "capabilities_event_time) values (?, ?::jsonb, ?, now(), ?) on conflict (device_id) do update set "
                                + "capabilities = excluded.capabilities, capabilities_event_id = excluded.capabilities_event_id, "
                                + "capabilities_at = now(), capabilities_event_time = excluded.capabilities_event_time where "
                                + EventTimes.newer("capabilities_event_time"))) {
                    st.setString(1, d.deviceId());
                    st.setString(2, event.data().toString());
                    st.setString(3, event.id());
                    st.setTimestamp(4, EventTimes.of(event));
                    st.executeUpdate();
                }
            }
            case EventTypes.ASSIGNMENT -> {
                Assignment a = EventHandler.data(event, Assignment.class);
                QualityMeasure predicted = requireKnown(c, a.modelVersion(), "assignment");
                if (a.feasible()) requireMeasure(a.measure(), predicted, "assignment", a.modelVersion());
                try (PreparedStatement st = c.prepareStatement(
                        "insert into assignments (assignment_id, device_id, feasible, model_version, "
                                + "config_id, average_bits, predicted_quality, reason) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing")) {
                    bindAssignment(st, a);
                    st.executeUpdate();
                }
                try (PreparedStatement st = c.prepareStatement(
                        "insert into devices (assignment_id, device_id, feasible, model_version, config_id, "
                                + "average_bits, predicted_quality, reason, assigned_at, assignment_event_time) values (?, ?, ?, ?, ?, ?, ?, ?, now(), ?) "
                                + "on conflict (device_id) do update set "
                                + "assignment_id = excluded.assignment_id, feasible = excluded.feasible, model_version = excluded.model_version, "
                                + "config_id = excluded.config_id, average_bits = excluded.average_bits, predicted_quality = excluded.predicted_quality, "
                                + "reason = excluded.reason, assigned_at = now(), assignment_event_time = excluded.assignment_event_time where "
                                + EventTimes.newer("assignment_event_time"))) {
                    bindAssignment(st, a);
                    st.setTimestamp(9, EventTimes.of(event));
                    if (st.executeUpdate() == 0) return; // a newer assignment of this device was applied already
                }
                RolloutEngine.onAssignment(tx, a);
                retraining.onAssignment(tx, a);
            }
            case EventTypes.DEVICE_STATUS -> {
                Payloads.DeviceStatus s = EventHandler.data(event, Payloads.DeviceStatus.class);
                requireKnown(c, s.modelVersion(), "device status");
                try (PreparedStatement st = c.prepareStatement(
                        "insert into devices (device_id, update_status, update_reason, update_assignment_id, "
                                + "update_version, update_at, status_event_time) values (?, ?, ?, ?, ?, ?, ?) on conflict (device_id) do update set "
                                + "update_status = excluded.update_status, update_reason = excluded.update_reason, "
                                + "update_assignment_id = excluded.update_assignment_id, update_version = excluded.update_version, "
                                + "update_at = excluded.update_at, status_event_time = excluded.status_event_time where "
                                + EventTimes.newer("status_event_time"))) {
                    st.setString(1, s.deviceId());
                    st.setString(2, s.status());
                    st.setString(3, s.reason());
                    st.setString(4, s.assignmentId());
                    st.setString(5, s.modelVersion());
                    st.setTimestamp(6, Timestamp.from(s.at()));
                    st.setTimestamp(7, EventTimes.of(event));
                    if (st.executeUpdate() == 0) return; // the device reported something newer already
                }
                RolloutEngine.onStatus(tx, s);
            }
            case EventTypes.ADAPTER_READY -> {
                AdapterReady r = EventHandler.data(event, AdapterReady.class);
                requireKnown(c, r.modelVersion(), "adapter-ready");
                try (PreparedStatement st = c.prepareStatement(
                        "insert into adapters (package_sha256, model_version, config_id, average_bits, artifacts) "
                                + "values (?, ?, ?, ?, ?::jsonb) on conflict do nothing")) {
                    st.setString(1, r.packageSha256());
                    st.setString(2, r.modelVersion());
                    st.setString(3, r.configId());
                    st.setDouble(4, r.averageBits());
                    st.setString(5, Payloads.toJson(r.artifacts()).toString());
                    st.executeUpdate();
                }
                try (PreparedStatement st = c.prepareStatement(
                        "insert into devices (device_id, adapter_assignment_id, package_sha256, adapter_at, adapter_ready, "
                                + "adapter_event_id, adapter_event_time) values (?, ?, ?, now(), ?::jsonb, ?, ?) on conflict (device_id) do update set "
                                + "adapter_assignment_id = excluded.adapter_assignment_id, package_sha256 = excluded.package_sha256, "
                                + "adapter_at = now(), adapter_ready = excluded.adapter_ready, adapter_event_id = excluded.adapter_event_id, "
                                + "adapter_event_time = excluded.adapter_event_time where "
                                + EventTimes.newer("adapter_event_time"))) {
                    st.setString(1, r.deviceId());
                    st.setString(2, r.assignmentId());
                    st.setString(3, r.packageSha256());
                    st.setString(4, event.data().toString());
                    st.setString(5, event.id());
                    st.setTimestamp(6, EventTimes.of(event));
                    if (st.executeUpdate() == 0) return; // a newer package was announced already
                }
                tx.afterCommit(() -> packageChanged.accept(r.deviceId()));
            }
            case EventTypes.TELEMETRY -> {
                EvaluationTelemetry t = EventHandler.data(event, EvaluationTelemetry.class);
                QualityMeasure measure = requireKnown(c, t.modelVersion(), "telemetry");
                requireMeasure(t.measure(), measure, "telemetry", t.modelVersion());
                try (PreparedStatement st = c.prepareStatement(
                        "insert into telemetry (device_id, model_version, config_id, package_sha256, quality, "
                                + "examples, latency_ms_per_example, memory_bytes, measured_at, tokens_per_second) "
                                + "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    st.setString(1, t.deviceId());
                    st.setString(2, t.modelVersion());
                    st.setString(3, t.configId());
                    st.setString(4, t.packageSha256());
                    st.setDouble(5, t.measured());
                    st.setInt(6, t.examples());
                    st.setDouble(7, t.latencyMsPerExample());
                    st.setLong(8, t.memoryBytes());
                    st.setTimestamp(9, Timestamp.from(t.measuredAt()));
                    setDouble(st, 10, t.tokensPerSecond());
                    st.executeUpdate();
                }
                // the device's latest quality and the exact average bits it was measured at (its package's, else the
                // front's)
                try (PreparedStatement st = c.prepareStatement(
                        "update devices set telemetry_quality = ?, telemetry_measure = ?, telemetry_average_bits = coalesce("
                                + "(select average_bits from adapters where package_sha256 = ?), (select (e->>'averageBits')::float from model_versions m, "
                                + "jsonb_array_elements(m.front) e where m.model_version = ? and e->>'configId' = ?)) where device_id = ?")) {
                    st.setDouble(1, t.measured());
                    st.setString(2, measure.jsonName());
                    st.setString(3, t.packageSha256());
                    st.setString(4, t.modelVersion());
                    st.setString(5, t.configId());
                    st.setString(6, t.deviceId());
                    st.executeUpdate();
                }
                tx.afterCommit(metrics::telemetryReported);
                RolloutEngine.onTelemetry(tx, t);
                retraining.onTelemetry(tx, t);
            }
            default -> throw new RejectedEvent("the registry does not record " + event.type());
        }
    }

    /**
     * Fleet events may only name versions registered here (the registry learns of a version before anyone else can):
     * anything else is a forged or corrupted event, dead-lettered with the reason. Known versions are remembered
     * (versions are immutable and never deleted).
     *
     * @return the measure of the version's front (null when the event names no version)
     */
    private QualityMeasure requireKnown(Connection c, String modelVersion, String what)
            throws RejectedEvent, SQLException {
        if (modelVersion == null) return null;
        QualityMeasure known = knownVersions.get(modelVersion);
        if (known != null) return known;
        try (PreparedStatement st = c.prepareStatement("select measure from model_versions where model_version = ?")) {
            st.setString(1, modelVersion);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next())
                    throw new RejectedEvent(
                            what + " names model version " + modelVersion + ", which is not registered");
                known = QualityMeasure.fromJson(rs.getString(1));
            }
        }
        knownVersions.put(modelVersion, known);
        return known;
    }

    /** A quality in another measure than its version's front would be compared with the wrong prediction. */
    private static void requireMeasure(QualityMeasure given, QualityMeasure version, String what, String modelVersion)
            throws RejectedEvent {
        if (given != version)
            throw new RejectedEvent(what + " is in " + (given == null ? "no measure" : given.jsonName())
                    + ", but version " + modelVersion + " predicts " + version.jsonName());
    }

    /** Parameters 1-8 in the column order (assignment_id, device_id, feasible, model_version, config_id, average_bits, predicted_quality, reason). */
    private static void bindAssignment(PreparedStatement st, Assignment a) throws SQLException {
        st.setString(1, a.assignmentId());
        st.setString(2, a.deviceId());
        st.setBoolean(3, a.feasible());
        st.setString(4, a.modelVersion());
        st.setString(5, a.configId());
        setDouble(st, 6, a.averageBits());
        setDouble(st, 7, a.predicted());
        st.setString(8, a.reason());
    }

    private static void setDouble(PreparedStatement st, int i, Double v) throws SQLException {
        if (v == null) st.setNull(i, Types.DOUBLE);
        else st.setDouble(i, v);
    }
}
