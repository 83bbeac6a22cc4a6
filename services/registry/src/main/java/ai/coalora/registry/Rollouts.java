package ai.coalora.registry;

import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.planning.QualityMeasure;
import ai.coalora.registry.RolloutPolicy.OnFailure;
import ai.coalora.registry.RolloutPolicy.OnWaveSuccess;
import com.fasterxml.jackson.annotation.JsonAlias;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Operators' side of rollouts: create, inspect, pause, resume, abort, retry failed devices. */
@ApplicationScoped
public class Rollouts {
    /**
     * Defaults: 10% / 30% / 60% waves, >= 90% finished, > 10% failed after 5 executed, a quality margin of 0.05 (5
     * accuracy points, or perplexity 5% above the prediction).
     */
    static final List<Double> DEFAULT_WAVES = List.of(0.1, 0.3, 0.6);

    /**
     * What an operator asks for; null fields take the defaults. {@code deviceIds} null: every device with a feasible
     * assignment. {@code qualityMargin} is read in the version's measure ({@code accuracyMargin}, its name before there
     * was more than one measure, is still understood).
     */
    public record Plan(
            String modelVersion,
            List<String> deviceIds,
            List<Double> waveFractions,
            Double successThreshold,
            Double errorThreshold,
            Integer errorMinExecuted,
            @JsonAlias("qualityMargin") Double qualityMargin,
            String onWaveSuccess,
            String onFailure,
            String actor) {
        /** The plan as the authenticated user asked for it (the actor is who logged in, never what the body says). */
        Plan withActor(String who) {
            return new Plan(
                    modelVersion,
                    deviceIds,
                    waveFractions,
                    successThreshold,
                    errorThreshold,
                    errorMinExecuted,
                    qualityMargin,
                    onWaveSuccess,
                    onFailure,
                    who);
        }
    }

    /** An operator action: who and why; {@code mode} of an abort: keep or revert. */
    public record Action(String actor, String reason, String mode) {
        Action withActor(String who) {
            return new Action(who, reason, mode);
        }
    }

    public record Wave(
            int wave,
            int devices,
            int scheduled,
            int targeted,
            int finished,
            int failed,
            int reverting,
            int reverted,
            Double predictedQuality,
            Double measuredQuality,
            int measured) {}

    /** One recorded move; {@code from} is null for the creation. */
    public record Transition(RolloutState from, RolloutState to, int wave, String actor, String reason, Instant at) {
        /** The row mapper of {@code rollout_transitions}, by column name. */
        static Transition from(ResultSet rs) throws SQLException {
            String from = rs.getString("from_state");
            return new Transition(
                    from == null ? null : RolloutState.of(from),
                    RolloutState.of(rs.getString("to_state")),
                    rs.getInt("wave"),
                    rs.getString("actor"),
                    rs.getString("reason"),
                    rs.getTimestamp("at").toInstant());
        }
    }

    public record Rollout(
            String rolloutId,
            String modelVersion,
            RolloutState state,
            int currentWave,
            int waves,
            double successThreshold,
            double errorThreshold,
            int errorMinExecuted,
            QualityMeasure measure,
            double qualityMargin,
            OnWaveSuccess onWaveSuccess,
            OnFailure onFailure,
            String createdBy,
            Instant createdAt,
            List<Wave> progress,
            List<Transition> transitions) {
        /**
         * The row mapper of {@code rollouts} (with its version's {@code measure}), by column name; progress and
         * transitions are filled in after.
         */
        static Rollout from(ResultSet rs) throws SQLException {
            return new Rollout(
                    rs.getString("rollout_id"),
                    rs.getString("model_version"),
                    RolloutState.of(rs.getString("state")),
                    rs.getInt("current_wave"),
                    rs.getInt("waves"),
                    rs.getDouble("success_threshold"),
                    rs.getDouble("error_threshold"),
                    rs.getInt("error_min_executed"),
                    QualityMeasure.fromJson(rs.getString("measure")),
                    rs.getDouble("quality_margin"),
                    OnWaveSuccess.column(rs.getString("on_wave_success")),
                    OnFailure.column(rs.getString("on_failure")),
                    rs.getString("created_by"),
                    rs.getTimestamp("created_at").toInstant(),
                    new ArrayList<>(),
                    new ArrayList<>());
        }
    }

    final AgroalDataSource dataSource;
    final RegistryService service;

    Rollouts(AgroalDataSource dataSource, RegistryService service) {
        this.dataSource = dataSource;
        this.service = service;
    }

    public Rollout create(Plan p) throws ApiException, SQLException {
        if (p == null || p.modelVersion() == null) throw ApiException.badRequest("modelVersion is required");
        if (p.actor() == null || p.actor().isBlank())
            throw ApiException.badRequest("actor is required (who starts the rollout)");
        List<Double> fractions = p.waveFractions() == null ? DEFAULT_WAVES : p.waveFractions();
        double sum = fractions.stream().mapToDouble(Double::doubleValue).sum();
        if (fractions.isEmpty()
                || fractions.stream().anyMatch(f -> f == null || !(f > 0))
                || Math.abs(sum - 1) > 1e-6) {
            throw ApiException.badRequest("waveFractions must be positive and sum to 1, got " + fractions);
        }
        double success = orDefault(p.successThreshold(), 0.9),
                error = orDefault(p.errorThreshold(), 0.1),
                margin = orDefault(p.qualityMargin(), 0.05);
        int minExecuted = p.errorMinExecuted() == null ? 5 : p.errorMinExecuted();
        if (!(success > 0 && success <= 1) || !(error >= 0 && error < 1) || minExecuted < 1 || !(margin >= 0)) {
            throw ApiException.badRequest(
                    "need 0 < successThreshold <= 1, 0 <= errorThreshold < 1, errorMinExecuted >= 1, qualityMargin >= 0");
        }
        OnWaveSuccess onSuccess =
                p.onWaveSuccess() == null ? OnWaveSuccess.NEXT_WAVE : OnWaveSuccess.of(p.onWaveSuccess());
        OnFailure onFailure = p.onFailure() == null ? OnFailure.PAUSE : OnFailure.of(p.onFailure());
        String id = "r-" + UUID.randomUUID().toString().substring(0, 8);
        inTransaction(c -> {
            try (PreparedStatement st = c.prepareStatement("select 1 from model_versions where model_version = ?")) {
                st.setString(1, p.modelVersion());
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next())
                        throw ApiException.notFound("model version " + p.modelVersion() + " is not registered");
                }
            }
            List<String[]> targets = new ArrayList<>(); // device, previous version
            try (PreparedStatement st =
                    // the previous version is what the device was pinned to, null while it follows the alias: a revert
                    // hands it back to the alias rather than pinning it to what it happened to run
                    c.prepareStatement("select device_id, target_version from devices "
                            // by default: every device that runs something now (one with no feasible configuration has
                            // nothing to update)
                            + "where capabilities is not null"
                            + (p.deviceIds() == null ? " and feasible" : " and device_id = any(?)")
                            + " order by device_id")) {
                if (p.deviceIds() != null)
                    st.setArray(1, c.createArrayOf("text", p.deviceIds().toArray()));
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) targets.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
            if (targets.isEmpty()) throw ApiException.badRequest("no known devices to roll out to");
            if (p.deviceIds() != null && targets.size() < p.deviceIds().size()) {
                throw ApiException.badRequest(
                        (p.deviceIds().size() - targets.size()) + " of the devices are unknown to the registry");
            }
            RolloutEngine.exec(
                    c,
                    "insert into rollouts (rollout_id, model_version, state, current_wave, waves, success_threshold, error_threshold, "
                            + "error_min_executed, quality_margin, on_wave_success, on_failure, created_by) values (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                    id,
                    p.modelVersion(),
                    RolloutState.INITIAL.sql(),
                    fractions.size(),
                    success,
                    error,
                    minExecuted,
                    margin,
                    onSuccess.sql(),
                    onFailure.sql(),
                    p.actor());
            // waves in device-id order, sized by the fractions (the last takes the rest); each wave has at least one
            // device
            int start = 0;
            double cumulative = 0;
            for (int w = 0; w < fractions.size(); w++) {
                cumulative += fractions.get(w);
                int end = w == fractions.size() - 1
                        ? targets.size()
                        : Math.max(start + 1, (int) Math.round(cumulative * targets.size()));
                end = Math.min(end, targets.size());
                for (int i = start; i < end; i++) {
                    RolloutEngine.exec(
                            c,
                            "insert into rollout_devices (rollout_id, device_id, wave, state, previous_version) values (?, ?, ?, ?, ?)",
                            id,
                            targets.get(i)[0],
                            w + 1,
                            RolloutDeviceState.SCHEDULED.sql(),
                            targets.get(i)[1]);
                }
                start = end;
            }
            if (start < targets.size() || countWaves(c, id) < fractions.size()) {
                throw ApiException.badRequest(targets.size() + " devices cannot fill " + fractions.size() + " waves");
            }
            RolloutEngine.transition(
                    c,
                    id,
                    null,
                    RolloutState.INITIAL,
                    0,
                    "operator:" + p.actor(),
                    "created for " + targets.size() + " devices in " + fractions.size() + " waves");
            Transaction tx = new Transaction(c, ServiceRuntime.schemas());
            RolloutEngine.startWave(tx, RolloutEngine.lock(c, id), 1, "operator:" + p.actor());
        });
        return find(id).orElseThrow();
    }

    /** pause | resume | abort | retry-failed, each recorded with the operator and the reason; refused (409) from a state it is not allowed from. */
    public Rollout act(String id, String actionPath, Action a) throws ApiException, SQLException {
        RolloutAction action = RolloutAction.of(actionPath);
        if (a == null || a.actor() == null || a.actor().isBlank()) throw ApiException.badRequest("actor is required");
        String who = "operator:" + a.actor(),
                why = a.reason() == null || a.reason().isBlank() ? action.path() : a.reason();
        inTransaction(c -> {
            RolloutEngine.State r = RolloutEngine.lock(c, id);
            if (r == null) throw ApiException.notFound("no rollout " + id);
            action.requireAllowedFrom(id, r.state());
            Transaction tx = new Transaction(c, ServiceRuntime.schemas());
            switch (action) {
                case PAUSE -> RolloutEngine.setState(c, r, RolloutState.PAUSED, r.wave(), who, why);
                case RESUME -> {
                    RolloutEngine.WaveStats w = RolloutEngine.stats(c, r.id(), r.wave());
                    boolean concluded = r.nextOnResume()
                            || w.finished() + w.failed() == w.devices()
                            || w.finished() >= r.successThreshold() * w.devices();
                    if (concluded) {
                        // the operator accepts the wave as it stands (after a pause on success, or overriding a
                        // threshold)
                        RolloutEngine.advance(tx, r, who, "wave " + r.wave() + " accepted: " + why);
                    } else {
                        RolloutEngine.setState(c, r, RolloutState.RUNNING, r.wave(), who, why);
                        RolloutEngine.evaluate(tx, r.id());
                    }
                }
                case ABORT -> {
                    String mode = a.mode() == null ? "keep" : a.mode();
                    if (mode.equals("revert")) RolloutEngine.revert(tx, r, who, why);
                    else if (mode.equals("keep"))
                        RolloutEngine.setState(
                                c, r, RolloutState.ABORTED, r.wave(), who, why + "; devices keep what they run");
                    else throw ApiException.badRequest("mode must be keep or revert");
                }
                case RETRY_FAILED -> {
                    List<String> failed = RolloutEngine.devices(c, r.id(), r.wave(), RolloutDeviceState.FAILED);
                    for (String d : failed) {
                        RolloutEngine.exec(
                                c,
                                "update rollout_devices set state = ?, reason = 'retry', updated_at = now() "
                                        + "where rollout_id = ? and device_id = ?",
                                RolloutDeviceState.TARGETED.sql(),
                                r.id(),
                                d);
                        RolloutEngine.target(
                                tx,
                                d,
                                r.version(),
                                r.id(),
                                r.wave(),
                                "retry of rollout " + r.id() + " wave " + r.wave(),
                                true);
                    }
                    RolloutEngine.setState(
                            c,
                            r,
                            RolloutState.RUNNING,
                            r.wave(),
                            who,
                            "retrying " + failed.size() + " failed devices: " + why);
                }
            }
        });
        return find(id).orElseThrow();
    }

    /** Work on the registry's tables that commits as a whole or not at all. */
    private interface Work {
        void run(Connection c) throws ApiException, SQLException;
    }

    /** Runs {@code work} in one transaction; what it published goes out once it committed. */
    /**
     * Runs {@code work} in one transaction. A deadlock or serialization failure the database detected (SQLState class
     * 40: it rolled this transaction back so another could go on) is retried, a few times, instead of becoming a 500.
     */
    private void inTransaction(Work work) throws ApiException, SQLException {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                try {
                    work.run(c);
                    AuditLog.inTransaction(c);
                    c.commit();
                    break;
                } catch (ApiException | SQLException | RuntimeException e) {
                    c.rollback();
                    if (!(e instanceof SQLException sql && isRollbackClass(sql)) || attempt == MAX_ATTEMPTS) throw e;
                }
            }
            try {
                Thread.sleep(ThreadLocalRandom.current().nextLong(10, 50L * attempt));
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while retrying a transaction", ie);
            }
        }
        service.published();
    }

    static final int MAX_ATTEMPTS = 5;

    private static boolean isRollbackClass(SQLException e) {
        return e.getSQLState() != null && e.getSQLState().startsWith("40");
    }

    private static double orDefault(Double v, double d) {
        return v == null ? d : v;
    }

    private static int countWaves(Connection c, String id) throws SQLException {
        try (PreparedStatement st =
                c.prepareStatement("select count(distinct wave) from rollout_devices where rollout_id = ?")) {
            st.setString(1, id);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    public List<Rollout> list() throws SQLException {
        List<String> ids = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement("select rollout_id from rollouts order by created_at desc");
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) ids.add(rs.getString(1));
        }
        List<Rollout> out = new ArrayList<>();
        for (String id : ids) find(id).ifPresent(out::add);
        return out;
    }

    public Optional<Rollout> find(String id) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            Rollout head;
            try (PreparedStatement st = c.prepareStatement(
                    "select r.*, v.measure from rollouts r join model_versions v using (model_version) "
                            + "where r.rollout_id = ?")) {
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next()) return Optional.empty();
                    head = Rollout.from(rs);
                }
            }
            // one count per device state, in the enum's order: scheduled, targeted, finished, failed, reverting,
            // reverted
            StringBuilder counts = new StringBuilder();
            for (RolloutDeviceState state : RolloutDeviceState.values())
                counts.append("count(*) filter (where state = ?), ");
            try (PreparedStatement st = c.prepareStatement(
                    "select wave, count(*), " + counts + "avg(predicted_quality), "
                            + "avg(measured_quality), count(measured_quality) from rollout_devices where rollout_id = ? group by wave order by wave")) {
                int k = 1;
                for (RolloutDeviceState state : RolloutDeviceState.values()) st.setString(k++, state.sql());
                st.setString(k, id);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        head.progress()
                                .add(new Wave(
                                        rs.getInt(1),
                                        rs.getInt(2),
                                        rs.getInt(3),
                                        rs.getInt(4),
                                        rs.getInt(5),
                                        rs.getInt(6),
                                        rs.getInt(7),
                                        rs.getInt(8),
                                        (Double) rs.getObject(9),
                                        (Double) rs.getObject(10),
                                        rs.getInt(11)));
                    }
                }
            }
            try (PreparedStatement st =
                    c.prepareStatement("select * from rollout_transitions where rollout_id = ? order by id")) {
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) head.transitions().add(Transition.from(rs));
                }
            }
            return Optional.of(head);
        }
    }
}
