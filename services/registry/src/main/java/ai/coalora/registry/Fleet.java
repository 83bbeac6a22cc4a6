package ai.coalora.registry;

import ai.coalora.fleet.events.Payloads;
import com.fasterxml.jackson.databind.JsonNode;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The fleet as the registry recorded it: devices, their status, assignment history, summary. */
@ApplicationScoped
public class Fleet {
    /**
     * pending: capabilities known, not planned yet; unassignable: no configuration fits; assigned: waiting for
     * its adapter; ready: the adapter for its current assignment is available; running: the device applied it;
     * failed: the device could not apply it (or rejected a file).
     */
    static final String STATUS = "case when assignment_id is null then 'pending' when not feasible then 'unassignable' "
            + "when update_assignment_id = assignment_id and update_status = 'applied' then 'running' "
            + "when update_assignment_id = assignment_id then 'failed' "
            + "when adapter_assignment_id = assignment_id then 'ready' else 'assigned' end";

    public record Device(
            String deviceId,
            String status,
            JsonNode capabilities,
            String assignmentId,
            Boolean feasible,
            String modelVersion,
            String configId,
            Double averageBits,
            Double predictedQuality,
            String reason,
            String packageSha256,
            Instant capabilitiesAt,
            Instant assignedAt,
            Instant adapterAt) {}

    public record AssignmentRecord(
            String assignmentId,
            String deviceId,
            boolean feasible,
            String modelVersion,
            String configId,
            Double averageBits,
            Double predictedQuality,
            String reason,
            Instant receivedAt) {}

    public record Summary(
            long devices,
            Map<String, Long> byStatus,
            Map<String, Long> byAverageBits,
            long adapterPackages,
            long assignments,
            long telemetryRecords) {}

    final AgroalDataSource dataSource;

    Fleet(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    private static final String SELECT_DEVICE =
            "select device_id, " + STATUS + ", capabilities::text, assignment_id, feasible, model_version, config_id, "
                    + "average_bits, predicted_quality, reason, package_sha256, capabilities_at, assigned_at, adapter_at from devices";

    public List<Device> devices(String status, int limit, int offset) throws SQLException {
        List<Device> out = new ArrayList<>();
        String where = status == null ? "" : " where " + STATUS + " = ?";
        try (Connection c = dataSource.getConnection();
                PreparedStatement st =
                        c.prepareStatement(SELECT_DEVICE + where + " order by device_id limit ? offset ?")) {
            int i = 1;
            if (status != null) st.setString(i++, status);
            st.setInt(i++, limit);
            st.setInt(i, offset);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) out.add(device(rs));
            }
        }
        return out;
    }

    public Optional<Device> device(String id) throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(SELECT_DEVICE + " where device_id = ?")) {
            st.setString(1, id);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(device(rs)) : Optional.empty();
            }
        }
    }

    public List<AssignmentRecord> assignments(String deviceId, int limit) throws SQLException {
        List<AssignmentRecord> out = new ArrayList<>();
        String where = deviceId == null ? "" : " where device_id = ?";
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select assignment_id, device_id, feasible, model_version, config_id, average_bits, "
                                + "predicted_quality, reason, received_at from assignments" + where
                                + " order by received_at, assignment_id limit ?")) {
            int i = 1;
            if (deviceId != null) st.setString(i++, deviceId);
            st.setInt(i, limit);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new AssignmentRecord(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getBoolean(3),
                            rs.getString(4),
                            rs.getString(5),
                            (Double) rs.getObject(6),
                            (Double) rs.getObject(7),
                            rs.getString(8),
                            instant(rs.getTimestamp(9))));
                }
            }
        }
        return out;
    }

    public Summary summary() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            Map<String, Long> byStatus = new LinkedHashMap<>(), byBits = new LinkedHashMap<>();
            long devices = 0;
            try (PreparedStatement st =
                            c.prepareStatement("select " + STATUS + " s, count(*) from devices group by s order by s");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    byStatus.put(rs.getString(1), rs.getLong(2));
                    devices += rs.getLong(2);
                }
            }
            // quarter-bit buckets of the assigned average bits
            try (PreparedStatement st = c.prepareStatement(
                            "select to_char(floor(average_bits * 4) / 4, 'FM990.00') b, count(*) from devices "
                                    + "where feasible group by b order by b");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) byBits.put(rs.getString(1), rs.getLong(2));
            }
            return new Summary(
                    devices, byStatus, byBits, count(c, "adapters"), count(c, "assignments"), count(c, "telemetry"));
        }
    }

    private static long count(Connection c, String table) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("select count(*) from " + table);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static Device device(ResultSet rs) throws SQLException {
        try {
            return new Device(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3) == null ? null : Payloads.JSON.readTree(rs.getString(3)),
                    rs.getString(4),
                    (Boolean) rs.getObject(5),
                    rs.getString(6),
                    rs.getString(7),
                    (Double) rs.getObject(8),
                    (Double) rs.getObject(9),
                    rs.getString(10),
                    rs.getString(11),
                    instant(rs.getTimestamp(12)),
                    instant(rs.getTimestamp(13)),
                    instant(rs.getTimestamp(14)));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
