package ai.coalora.registry;

import ai.coalora.fleet.security.DeviceToken;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Each device's own credential for the gateway ({@link DeviceToken}): issued at enrolment (one device or many in one
 * transaction), shown once, stored as a hash; revocable; re-enrolling a device replaces its credential. A device has
 * at most one live credential.
 */
@ApplicationScoped
public class DeviceCredentials {
    /** Device ids as the events carry them (the capabilities schema's pattern). */
    static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    /** Devices enrolled by one request. */
    static final int MAX_ENROLMENT = 10_000;
    /** A credential's last use is written at most this often (not on every request). */
    static final long LAST_USED_RESOLUTION_SECONDS = 60;

    /** An operator's enrolment: the devices, and whether a device that already has a credential gets a new one. */
    public record Enrolment(List<String> deviceIds, Boolean replace) {}

    /** A credential as issued: the token is in this answer and nowhere else. */
    public record Issued(String deviceId, String token) {}

    /** A credential as the registry keeps it (never the token). */
    public record Credential(
            String deviceId,
            String id,
            Instant issuedAt,
            String issuedBy,
            Instant revokedAt,
            String revokedBy,
            Instant lastUsedAt) {}

    final AgroalDataSource dataSource;

    DeviceCredentials(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Issues a credential to each device, all or none. */
    public List<Issued> enrol(Enrolment e, String actor) throws ApiException, SQLException {
        if (e == null || e.deviceIds() == null || e.deviceIds().isEmpty())
            throw ApiException.badRequest("deviceIds is required (the devices to enrol)");
        if (e.deviceIds().size() > MAX_ENROLMENT)
            throw ApiException.badRequest("at most " + MAX_ENROLMENT + " devices per enrolment");
        Set<String> seen = new HashSet<>();
        for (String d : e.deviceIds()) {
            if (d == null || !DEVICE_ID.matcher(d).matches())
                throw ApiException.badRequest("device id '" + d + "' must match " + DEVICE_ID.pattern());
            if (!seen.add(d)) throw ApiException.badRequest("device " + d + " is listed twice");
        }
        boolean replace = Boolean.TRUE.equals(e.replace());
        List<Issued> out = new ArrayList<>(e.deviceIds().size());
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<String> enrolled = live(c, e.deviceIds());
                if (!enrolled.isEmpty() && !replace)
                    throw ApiException.conflict(enrolled.size() + " of the devices already have a credential (e.g. "
                            + enrolled.get(0) + "); enrol them with replace=true to issue new ones");
                revoke(c, enrolled, actor);
                try (PreparedStatement st = c.prepareStatement(
                        "insert into device_credentials (token_sha256, device_id, issued_by) values (?, ?, ?)")) {
                    for (String d : e.deviceIds()) {
                        String token = DeviceToken.generate();
                        st.setString(1, DeviceToken.digest(token));
                        st.setString(2, d);
                        st.setString(3, actor);
                        st.addBatch();
                        out.add(new Issued(d, token));
                    }
                    st.executeBatch();
                }
                AuditLog.inTransaction(c);
                c.commit();
            } catch (ApiException | SQLException | RuntimeException ex) {
                c.rollback();
                throw ex;
            }
        }
        return out;
    }

    /** Revokes the device's live credential: from now on every request with it is a 401. */
    public void revoke(String deviceId, String actor) throws ApiException, SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                if (revoke(c, List.of(deviceId), actor) == 0)
                    throw ApiException.notFound("device " + deviceId + " has no live credential");
                AuditLog.inTransaction(c);
                c.commit();
            } catch (ApiException | SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    private static int revoke(Connection c, List<String> devices, String actor) throws SQLException {
        if (devices.isEmpty()) return 0;
        try (PreparedStatement st =
                c.prepareStatement("update device_credentials set revoked_at = now(), revoked_by = ? "
                        + "where device_id = any(?) and revoked_at is null")) {
            st.setString(1, actor);
            st.setArray(2, c.createArrayOf("text", devices.toArray()));
            return st.executeUpdate();
        }
    }

    private static List<String> live(Connection c, List<String> devices) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("select device_id from device_credentials "
                + "where device_id = any(?) and revoked_at is null order by device_id")) {
            st.setArray(1, c.createArrayOf("text", devices.toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** The device's credentials, newest first: when issued and by whom, whether and when revoked, last used. */
    public List<Credential> history(String deviceId) throws SQLException {
        List<Credential> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select token_sha256, issued_at, issued_by, revoked_at, "
                                + "revoked_by, last_used_at from device_credentials where device_id = ? order by issued_at desc")) {
            st.setString(1, deviceId);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next())
                    out.add(new Credential(
                            deviceId,
                            rs.getString(1).substring(0, 12), // enough to tell credentials apart, useless as a token
                            instant(rs.getTimestamp(2)),
                            rs.getString(3),
                            instant(rs.getTimestamp(4)),
                            rs.getString(5),
                            instant(rs.getTimestamp(6))));
            }
        }
        return out;
    }

    /**
     * The device a request's {@code Authorization: Bearer} token belongs to; a missing, malformed, unknown or revoked
     * token is a 401 with the same answer for each (nothing to learn from it).
     */
    public String authenticate(String authorization) throws ApiException, SQLException {
        String token = authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                ? authorization.substring(7).trim()
                : null;
        if (!DeviceToken.isWellFormed(token))
            throw ApiException.unauthorized("a device token is required (Authorization: Bearer cdt_...)");
        Optional<String> device = Optional.empty();
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement st = c.prepareStatement("select device_id, last_used_at from device_credentials "
                    + "where token_sha256 = ? and revoked_at is null")) {
                st.setString(1, DeviceToken.digest(token));
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        device = Optional.of(rs.getString(1));
                        Timestamp used = rs.getTimestamp(2);
                        if (used == null
                                || used.toInstant().isBefore(Instant.now().minusSeconds(LAST_USED_RESOLUTION_SECONDS)))
                            touch(c, token);
                    }
                }
            }
        }
        return device.orElseThrow(() -> ApiException.unauthorized("unknown or revoked device token"));
    }

    private static void touch(Connection c, String token) throws SQLException {
        try (PreparedStatement st =
                c.prepareStatement("update device_credentials set last_used_at = now() where token_sha256 = ?")) {
            st.setString(1, DeviceToken.digest(token));
            st.executeUpdate();
        }
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
