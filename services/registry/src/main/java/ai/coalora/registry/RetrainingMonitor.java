package ai.coalora.registry;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.CoverageBudget;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.RetrainingRequested;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.planning.FrontCoverage;
import ai.coalora.fleet.planning.QualityMeasure;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Telemetry-driven retraining's two triggers; each raises a retraining request the trainer answers.
 *
 * <p><b>Quality trigger</b>: per (version, configuration), when the latest telemetry of at least {@code minDevices}
 * devices averages short of what the Pareto front predicted by more than {@code margin}, in the version's measure
 * ({@link QualityMeasure#fallsShort}: accuracy points below, perplexity ratio above), one request names the
 * configuration (none while one is open). Versions under a rollout that has not succeeded are left to the
 * rollout's quality gate.
 *
 * <p><b>Coverage trigger</b>: on every assignment, the device's budget in average bits is compared with the
 * largest front configuration it can run ({@link FrontCoverage}). Devices at least {@code coverageGapBits} below
 * their budget are grouped by half-bit budget segment and weight bit-widths; when a group reaches
 * {@code coverageMinDevices}, one request asks for configurations allocated at the group's smallest budget
 * (every device of the group holds it). One open coverage request per version; a group already requested for a
 * version is not requested again.
 *
 * <p>Each request counts in {@code coalora_retraining_requests_total{trigger=quality|coverage}} once committed.
 */
record RetrainingMonitor(
        double margin, int minDevices, double coverageGapBits, int coverageMinDevices, RegistryMetrics metrics) {
    static final String SOURCE = "/coalora/registry/retraining";
    /** Budgets are rounded down by this much: the bytes-per-bit line is a fit, a new configuration must still fit. */
    static final double BUDGET_SLACK_BITS = 0.02;

    private static final Map<String, Optional<FrontCoverage>> FRONTS =
            new ConcurrentHashMap<>(); // versions are immutable

    void onTelemetry(Transaction tx, EvaluationTelemetry t) throws SQLException {
        Connection c = tx.connection();
        Double predicted = null;
        QualityMeasure measure = null;
        try (PreparedStatement st = c.prepareStatement(
                "select coalora_predicted(e), measure from model_versions, jsonb_array_elements(front) e "
                        + "where model_version = ? and e->>'configId' = ? and not exists (select 1 from rollouts r where r.model_version = ? "
                        + "and r.state <> ?) and not exists (select 1 from retraining_requests q where q.model_version = ? "
                        + "and q.result_version is null and q.config_ids @> jsonb_build_array(?::text))")) {
            st.setString(1, t.modelVersion());
            st.setString(2, t.configId());
            st.setString(3, t.modelVersion());
            st.setString(4, RolloutState.SUCCEEDED.sql());
            st.setString(5, t.modelVersion());
            st.setString(6, t.configId());
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next()) {
                    predicted = rs.getDouble(1);
                    measure = QualityMeasure.fromJson(rs.getString(2));
                }
            }
        }
        if (predicted == null) return; // unknown configuration, under a rollout, or already requested
        int devices;
        double measured;
        try (PreparedStatement st = c.prepareStatement(
                "select count(*), avg(quality) from (select distinct on (device_id) quality from telemetry "
                        + "where model_version = ? and config_id = ? order by device_id, id desc) latest")) {
            st.setString(1, t.modelVersion());
            st.setString(2, t.configId());
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                devices = rs.getInt(1);
                measured = rs.getDouble(2);
            }
        }
        if (devices < minDevices || !measure.fallsShort(measured, predicted, margin)) return;
        String id = "rt-" + UUID.randomUUID().toString().substring(0, 8);
        String reason = String.format(
                Locale.ROOT,
                "fleet %s %.4f on %d devices is %s the predicted %.4f (margin %s) for configuration %s of %s",
                measure.jsonName(),
                measured,
                devices,
                measure.shortfallText(measured, predicted),
                predicted,
                measure.marginText(margin),
                t.configId().substring(0, 12),
                t.modelVersion().substring(0, 12));
        ObjectNode evidence = Payloads.JSON
                .createObjectNode()
                .put("configId", t.configId())
                .put("devices", devices)
                .put("measure", measure.jsonName())
                .put("measured", measured)
                .put("predicted", predicted)
                .put("margin", margin)
                .put("lastTelemetryFrom", t.deviceId());
        request(tx, new RetrainingRequested(id, t.modelVersion(), List.of(t.configId()), reason, evidence), "quality");
    }

    /** The coverage trigger, on a feasible assignment: record the device's coverage, then look at its group. */
    void onAssignment(Transaction tx, Assignment a) throws SQLException {
        if (!a.feasible() || a.modelVersion() == null) return;
        Connection c = tx.connection();
        FrontCoverage front = front(c, a.modelVersion());
        DeviceCapabilities device = null;
        try (PreparedStatement st = c.prepareStatement(
                "select capabilities::text from devices where device_id = ? and capabilities is not null")) {
            st.setString(1, a.deviceId());
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next()) device = Payloads.JSON.readValue(rs.getString(1), DeviceCapabilities.class);
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("stored capabilities of " + a.deviceId() + " do not read back", e);
        }
        FrontCoverage.Coverage coverage = front == null || device == null ? null : front.forDevice(device);
        RolloutEngine.exec(
                c,
                "update devices set budget_bits = ?, coverage_gap_bits = ?, weight_bits = ?::jsonb where device_id = ?",
                coverage == null ? null : coverage.budgetBits(),
                coverage == null ? null : coverage.gapBits(),
                device == null
                        ? null
                        : Payloads.toJson(device.weightBits().stream()
                                        .sorted()
                                        .distinct()
                                        .toList())
                                .toString(),
                a.deviceId());
        if (coverage == null || coverage.gapBits() < coverageGapBits) return;
        try (PreparedStatement st = c.prepareStatement(
                "select 1 from retraining_requests where model_version = ? and result_version is null "
                        + "and evidence->>'kind' = 'coverage'")) {
            st.setString(1, a.modelVersion());
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next()) return; // one open coverage request per version
            }
        }
        // groups of poorly covered devices on this version, large enough and not requested before
        ArrayNode segments = Payloads.JSON.createArrayNode();
        List<CoverageBudget> budgets = new ArrayList<>();
        int devices = 0;
        try (PreparedStatement st =
                c.prepareStatement("select seg, bits::text, n, min_budget, mean_gap, mean_nearest from (select "
                        + "floor(budget_bits * 2) / 2 seg, weight_bits bits, count(*) n, min(budget_bits) min_budget, avg(coverage_gap_bits) mean_gap, "
                        + "avg(budget_bits - coverage_gap_bits) mean_nearest from devices where model_version = ? and feasible and coverage_gap_bits >= ? "
                        + "group by 1, 2) g where n >= ? and not exists (select 1 from retraining_requests q where q.model_version = ? "
                        + "and q.evidence->>'kind' = 'coverage' and q.evidence->'segments' @> jsonb_build_array(jsonb_build_object('fromBits', g.seg, "
                        + "'weightBits', g.bits))) order by seg, bits::text")) {
            st.setString(1, a.modelVersion());
            st.setDouble(2, coverageGapBits);
            st.setInt(3, coverageMinDevices);
            st.setString(4, a.modelVersion());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    double from = rs.getDouble(1), minBudget = rs.getDouble(4);
                    List<Integer> bits = Payloads.JSON.readValue(
                            rs.getString(2), new com.fasterxml.jackson.core.type.TypeReference<List<Integer>>() {});
                    int n = rs.getInt(3);
                    devices += n;
                    segments.addObject()
                            .put("fromBits", from)
                            .put("toBits", from + 0.5)
                            .putPOJO("weightBits", bits)
                            .put("devices", n)
                            .put("minBudgetBits", round(minBudget))
                            .put("meanGapBits", round(rs.getDouble(5)))
                            .put("meanNearestBits", round(rs.getDouble(6)));
                    budgets.add(new CoverageBudget(Math.floor((minBudget - BUDGET_SLACK_BITS) * 100) / 100, bits, n));
                }
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("stored weight bits do not read back", e);
            }
        }
        if (budgets.isEmpty()) return;
        String id = "rt-" + UUID.randomUUID().toString().substring(0, 8);
        String reason = String.format(
                "front coverage: %d devices in %d budget segment%s of %s run configurations at least %.2f bits below what they hold",
                devices,
                budgets.size(),
                budgets.size() == 1 ? "" : "s",
                a.modelVersion().substring(0, 12),
                coverageGapBits);
        ObjectNode evidence = Payloads.JSON
                .createObjectNode()
                .put("kind", "coverage")
                .put("gapBits", coverageGapBits)
                .put("minDevices", coverageMinDevices)
                .put("bytesPerBit", round(front.bytesPerBit()))
                .put("lastAssignment", a.assignmentId());
        evidence.set("segments", segments);
        request(tx, new RetrainingRequested(id, a.modelVersion(), List.of(), reason, evidence, budgets), "coverage");
    }

    /** Records the request and publishes it, in the transaction of the event that triggered it. */
    private void request(Transaction tx, RetrainingRequested r, String trigger) throws SQLException {
        RolloutEngine.exec(
                tx.connection(),
                "insert into retraining_requests (request_id, model_version, config_ids, reason, evidence, budgets) "
                        + "values (?, ?, ?::jsonb, ?, ?::jsonb, ?::jsonb)",
                r.requestId(),
                r.modelVersion(),
                Payloads.toJson(r.configIds()).toString(),
                r.reason(),
                r.evidence().toString(),
                r.budgets() == null ? null : Payloads.toJson(r.budgets()).toString());
        tx.publish(
                Topic.RETRAINING_REQUESTS,
                r.requestId(),
                CloudEvent.withId(
                        UUID.randomUUID().toString(), // the request's id is for people; the event's is unguessable
                        SOURCE,
                        EventTypes.RETRAINING_REQUESTED,
                        r.requestId(),
                        ServiceRuntime.schemas().dataschema(EventTypes.RETRAINING_REQUESTED),
                        Payloads.toJson(r)));
        tx.afterCommit(() -> metrics.retrainingRequested(trigger));
    }

    /** The coverage of a version's front (cached: versions are immutable); null without a usable front. */
    private static FrontCoverage front(Connection c, String modelVersion) throws SQLException {
        Optional<FrontCoverage> cached = FRONTS.get(modelVersion);
        if (cached != null) return cached.orElse(null);
        List<FrontEntry> entries = null;
        try (PreparedStatement st = c.prepareStatement(
                "select front::text from model_versions where model_version = ? and front is not null")) {
            st.setString(1, modelVersion);
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next())
                    entries = Payloads.JSON.readValue(
                            rs.getString(1), new com.fasterxml.jackson.core.type.TypeReference<List<FrontEntry>>() {});
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("stored front of " + modelVersion + " does not read back", e);
        }
        if (entries == null) return null; // not registered yet: try again on the next assignment
        FrontCoverage coverage = FrontCoverage.of(entries);
        FRONTS.put(modelVersion, Optional.ofNullable(coverage));
        return coverage;
    }

    private static double round(double v) {
        return Math.round(v * 10000) / 10000.0;
    }
}
