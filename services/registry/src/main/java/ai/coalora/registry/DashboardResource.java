package ai.coalora.registry;

import ai.coalora.fleet.planning.QualityMeasure;
import io.agroal.api.AgroalDataSource;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.eclipse.microprofile.openapi.annotations.Operation;

/**
 * What the web dashboard ({@code /dashboard/}) draws, aggregated in SQL so that polling every few seconds stays
 * cheap: the fleet at a glance, rollouts in one query, versions with their aliases and devices, one version's
 * Pareto front against what the fleet measured, and telemetry per time bucket. Read-only; the dashboard's
 * operator actions call the rollout endpoints ({@code POST /api/rollouts/{id}/pause|resume|abort|retry-failed}).
 */
@Path("/api/dashboard")
@Produces(MediaType.APPLICATION_JSON)
public class DashboardResource {
    /** At most this many rows of a list (rollouts, versions). */
    static final int MAX_ROWS = 200;
    /** Telemetry charts read at most the newest this many reports (by id, the primary key), whatever the window. */
    static final long MAX_TELEMETRY_ROWS = 200_000;

    static final int MAX_BUCKETS = 500;

    public record VersionCount(String modelVersion, List<String> aliases, long assigned, long running) {}

    public record FleetView(
            long devices,
            Map<String, Long> byStatus,
            Map<String, Long> byAverageBits,
            List<VersionCount> byVersion,
            long adapterPackages,
            long telemetryRecords,
            Map<String, Long> rolloutsByState) {}

    public record RolloutRow(
            String rolloutId,
            String modelVersion,
            String state,
            int currentWave,
            int waves,
            String createdBy,
            Instant createdAt,
            Instant updatedAt,
            long devices,
            long scheduled,
            long targeted,
            long finished,
            long failed,
            long reverting,
            long reverted,
            String lastActor,
            String lastReason,
            Instant lastAt) {}

    public record VersionRow(
            String modelVersion,
            String parentVersion,
            String task,
            String baseModel,
            Instant createdAt,
            List<String> aliases,
            int frontSize,
            Double minBits,
            Double maxBits,
            String measure,
            Double bestPredicted,
            String retrainingRequest,
            long assigned,
            long running) {}

    /** One configuration of a front: the quality predicted for it, in the version's measure. */
    public record FrontPoint(String configId, double averageBits, double predictedQuality, List<Integer> weightBits) {}

    /** The fleet's measurement of one configuration: the mean of each device's latest quality on it. */
    public record MeasuredPoint(
            String configId,
            Double averageBits,
            Double predictedQuality,
            double meanQuality,
            double minQuality,
            double maxQuality,
            long devices,
            long reports) {}

    public record FrontView(
            String modelVersion,
            String measure,
            List<String> aliases,
            List<FrontPoint> predicted,
            List<MeasuredPoint> measured) {}

    public record Series(long reports, long devices, double meanQuality) {}

    public record Bucket(long start, long reports, long devices, double meanQuality, Map<String, Series> byVersion) {}

    /** Telemetry of the versions in one measure (a mean of accuracies and perplexities would mean nothing). */
    public record TelemetryView(
            String measure, int bucketSeconds, int buckets, long from, long to, List<Bucket> series) {}

    final AgroalDataSource dataSource;

    DashboardResource(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    @GET
    @Path("/fleet")
    @Operation(
            summary =
                    "Dashboard: devices by status, by assigned average bits (quarter-bit buckets) and per model version; rollouts by state")
    public FleetView fleet() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            Map<String, Long> byStatus = new LinkedHashMap<>(),
                    byBits = new LinkedHashMap<>(),
                    rollouts = new LinkedHashMap<>();
            long devices = 0;
            try (PreparedStatement st = c.prepareStatement(
                            "select " + Fleet.STATUS + " s, count(*) from devices group by s order by s");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    byStatus.put(rs.getString(1), rs.getLong(2));
                    devices += rs.getLong(2);
                }
            }
            try (PreparedStatement st = c.prepareStatement(
                            "select to_char(floor(average_bits * 4) / 4, 'FM990.00') b, count(*) from devices "
                                    + "where feasible group by b order by min(average_bits)");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) byBits.put(rs.getString(1), rs.getLong(2));
            }
            Map<String, List<String>> aliases = aliases(c);
            List<VersionCount> byVersion = new ArrayList<>();
            try (PreparedStatement st = c.prepareStatement("select model_version, count(*), count(*) filter (where "
                            + Fleet.STATUS
                            + " = 'running') from devices left join model_versions v using (model_version) where feasible "
                            + "group by model_version order by max(v.created_at) desc nulls last limit " + MAX_ROWS);
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    byVersion.add(new VersionCount(
                            rs.getString(1),
                            aliases.getOrDefault(rs.getString(1), List.of()),
                            rs.getLong(2),
                            rs.getLong(3)));
                }
            }
            try (PreparedStatement st =
                            c.prepareStatement("select state, count(*) from rollouts group by state order by state");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) rollouts.put(rs.getString(1), rs.getLong(2));
            }
            return new FleetView(
                    devices, byStatus, byBits, byVersion, count(c, "adapters"), count(c, "telemetry"), rollouts);
        }
    }

    /** One count column per device state, named after it, in the enum's order. */
    private static final String DEVICE_STATE_COUNTS = Arrays.stream(RolloutDeviceState.values())
            .map(state -> "count(*) filter (where state = '" + state.sql() + "') " + state.sql())
            .collect(Collectors.joining(", "));

    @GET
    @Path("/rollouts")
    @Operation(
            summary =
                    "Dashboard: rollouts, newest first, with device counts by state and the latest transition (one query)")
    public List<RolloutRow> rollouts(@QueryParam("limit") @DefaultValue("50") int limit) throws SQLException {
        List<RolloutRow> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select r.rollout_id, r.model_version, r.state, r.current_wave, r.waves, r.created_by, "
                                + "r.created_at, r.updated_at, d.n, d.scheduled, d.targeted, d.finished, d.failed, d.reverting, d.reverted, t.actor, t.reason, t.at "
                                + "from (select * from rollouts order by created_at desc limit ?) r "
                                + "left join lateral (select count(*) n, " + DEVICE_STATE_COUNTS
                                + " from rollout_devices where rollout_id = r.rollout_id) d on true "
                                + "left join lateral (select actor, reason, at from rollout_transitions where rollout_id = r.rollout_id order by id desc limit 1) t "
                                + "on true order by r.created_at desc")) {
            st.setInt(1, Math.max(1, Math.min(limit, MAX_ROWS)));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new RolloutRow(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getInt(4),
                            rs.getInt(5),
                            rs.getString(6),
                            instant(rs.getTimestamp(7)),
                            instant(rs.getTimestamp(8)),
                            rs.getLong(9),
                            rs.getLong(10),
                            rs.getLong(11),
                            rs.getLong(12),
                            rs.getLong(13),
                            rs.getLong(14),
                            rs.getLong(15),
                            rs.getString(16),
                            rs.getString(17),
                            instant(rs.getTimestamp(18))));
                }
            }
        }
        return out;
    }

    @GET
    @Path("/versions")
    @Operation(
            summary =
                    "Dashboard: model versions, newest first, with aliases, front range and the devices assigned to / running each")
    public List<VersionRow> versions() throws SQLException {
        List<VersionRow> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection()) {
            Map<String, List<String>> aliases = aliases(c);
            try (PreparedStatement st = c.prepareStatement(
                            "select v.model_version, v.parent_version, v.task, v.base_model, v.created_at, "
                                    + "jsonb_array_length(v.front), f.lo, f.hi, v.measure, f.low, f.high, v.lineage->>'retrainingRequest', coalesce(d.assigned, 0), coalesce(d.running, 0) "
                                    + "from (select * from model_versions order by created_at desc limit " + MAX_ROWS
                                    + ") v "
                                    + "left join lateral (select min((e->>'averageBits')::float) lo, max((e->>'averageBits')::float) hi, "
                                    + "min(coalora_predicted(e)) low, max(coalora_predicted(e)) high from jsonb_array_elements(v.front) e) f on true "
                                    + "left join (select model_version, count(*) assigned, count(*) filter (where "
                                    + Fleet.STATUS + " = 'running') running "
                                    + "from devices where feasible group by model_version) d on d.model_version = v.model_version order by v.created_at desc");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    QualityMeasure measure = QualityMeasure.fromJson(rs.getString(9));
                    out.add(new VersionRow(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getString(4),
                            instant(rs.getTimestamp(5)),
                            aliases.getOrDefault(rs.getString(1), List.of()),
                            rs.getInt(6),
                            (Double) rs.getObject(7),
                            (Double) rs.getObject(8),
                            measure.jsonName(),
                            (Double) rs.getObject(measure.higherIsBetter() ? 11 : 10),
                            rs.getString(12),
                            rs.getLong(13),
                            rs.getLong(14)));
                }
            }
        }
        return out;
    }

    @GET
    @Path("/versions/{version}/front")
    @Operation(
            summary =
                    "Dashboard: a version's Pareto front (predicted quality, in the version's measure, vs average bits) and, per "
                            + "configuration, what the fleet measured: the mean of each device's latest quality, with the device count")
    public Response front(@PathParam("version") String version) throws SQLException {
        List<FrontPoint> predicted = new ArrayList<>();
        Map<String, FrontPoint> byConfig = new LinkedHashMap<>();
        List<MeasuredPoint> measured = new ArrayList<>();
        try (Connection c = dataSource.getConnection()) {
            String measure = null;
            try (PreparedStatement st =
                    c.prepareStatement("select measure from model_versions where model_version = ?")) {
                st.setString(1, version);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) measure = rs.getString(1);
                }
            }
            if (measure == null) return ApiError.of(404, "no model version " + version);
            try (PreparedStatement st = c.prepareStatement(
                    "select e->>'configId', (e->>'averageBits')::float, coalora_predicted(e), "
                            + "(select coalesce(array_agg(b::int order by b::int), '{}') from jsonb_array_elements_text(e->'weightBits') b) "
                            + "from model_versions, jsonb_array_elements(front) e where model_version = ? order by 2")) {
                st.setString(1, version);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        List<Integer> bits = new ArrayList<>();
                        for (Object b : (Object[]) rs.getArray(4).getArray()) bits.add(((Number) b).intValue());
                        FrontPoint p = new FrontPoint(rs.getString(1), rs.getDouble(2), rs.getDouble(3), bits);
                        predicted.add(p);
                        byConfig.put(p.configId(), p);
                    }
                }
            }
            // each device's latest report on each configuration of the version (index telemetry_by_configuration),
            // averaged per configuration
            try (PreparedStatement st =
                    c.prepareStatement("select l.config_id, avg(l.quality), min(l.quality), max(l.quality), count(*), "
                            + "sum(l.reports), (select avg(a.average_bits) from adapters a where a.model_version = ? and a.config_id = l.config_id) "
                            + "from (select distinct on (device_id, config_id) device_id, config_id, quality, "
                            + "count(*) over (partition by device_id, config_id) reports from telemetry where model_version = ? "
                            + "order by device_id, config_id, id desc) l group by l.config_id order by l.config_id")) {
                st.setString(1, version);
                st.setString(2, version);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        FrontPoint p = byConfig.get(rs.getString(1));
                        Double bits = p != null ? Double.valueOf(p.averageBits()) : (Double) rs.getObject(7);
                        measured.add(new MeasuredPoint(
                                rs.getString(1),
                                bits,
                                p == null ? null : p.predictedQuality(),
                                rs.getDouble(2),
                                rs.getDouble(3),
                                rs.getDouble(4),
                                rs.getLong(5),
                                rs.getLong(6)));
                    }
                }
            }
            return Response.ok(new FrontView(
                            version, measure, aliases(c).getOrDefault(version, List.of()), predicted, measured))
                    .build();
        }
    }

    @GET
    @Path("/telemetry")
    @Operation(
            summary =
                    "Dashboard: telemetry of the versions in one measure (accuracy or perplexity) per time bucket of received time "
                            + "(reports, devices, mean quality; overall and per version), the latest `buckets` buckets of "
                            + "`bucketSeconds`, over at most the newest 200,000 reports")
    public Response telemetry(
            @QueryParam("bucketSeconds") @DefaultValue("30") int bucketSeconds,
            @QueryParam("buckets") @DefaultValue("60") int buckets,
            @QueryParam("measure") @DefaultValue("accuracy") String measureName)
            throws SQLException {
        QualityMeasure measure;
        try {
            measure = QualityMeasure.fromJson(measureName);
        } catch (IllegalArgumentException e) {
            return ApiError.of(400, e.getMessage());
        }
        if (bucketSeconds < 1 || bucketSeconds > 86_400) return ApiError.of(400, "bucketSeconds must be 1..86400");
        if (buckets < 1 || buckets > MAX_BUCKETS) return ApiError.of(400, "buckets must be 1.." + MAX_BUCKETS);
        long now = System.currentTimeMillis(), step = bucketSeconds * 1000L;
        long to = (now / step + 1) * step, from = to - buckets * step;
        Map<Long, Bucket> out = new TreeMap<>();
        try (Connection c = dataSource.getConnection();
                // grouping sets: one row per bucket (model_version null) and one per bucket and version
                PreparedStatement st = c.prepareStatement(
                        "select b, model_version, count(*), count(distinct device_id), avg(quality) "
                                + "from (select floor(extract(epoch from received_at) * 1000 / ?)::bigint b, model_version, device_id, quality from telemetry "
                                + "where id > (select coalesce(max(id), 0) from telemetry) - ? and received_at >= to_timestamp(? / 1000.0) "
                                + "and model_version in (select model_version from model_versions where measure = ?)) t "
                                + "group by grouping sets ((b), (b, model_version)) order by b, grouping(model_version) desc, model_version")) {
            st.setLong(1, step);
            st.setLong(2, MAX_TELEMETRY_ROWS);
            st.setLong(3, from);
            st.setString(4, measure.jsonName());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    long start = rs.getLong(1) * step;
                    String version = rs.getString(2);
                    if (version == null) {
                        out.put(
                                start,
                                new Bucket(
                                        start, rs.getLong(3), rs.getLong(4), rs.getDouble(5), new LinkedHashMap<>()));
                    } else {
                        Bucket b = out.get(start);
                        if (b != null)
                            b.byVersion().put(version, new Series(rs.getLong(3), rs.getLong(4), rs.getDouble(5)));
                    }
                }
            }
        }
        return Response.ok(new TelemetryView(
                        measure.jsonName(), bucketSeconds, buckets, from, to, new ArrayList<>(out.values())))
                .build();
    }

    /** Aliases by the version they point at. */
    private static Map<String, List<String>> aliases(Connection c) throws SQLException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        try (PreparedStatement st = c.prepareStatement("select alias, model_version from aliases order by alias");
                ResultSet rs = st.executeQuery()) {
            while (rs.next())
                out.computeIfAbsent(rs.getString(2), k -> new ArrayList<>()).add(rs.getString(1));
        }
        return out;
    }

    private static long count(Connection c, String table) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("select count(*) from " + table);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
