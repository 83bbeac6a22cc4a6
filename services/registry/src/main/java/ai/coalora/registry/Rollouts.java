package ai.coalora.registry;

import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
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
import java.util.Set;
import java.util.UUID;

/** Operators' side of rollouts: create, inspect, pause, resume, abort, retry failed devices. */
@ApplicationScoped
public class Rollouts {
    static final Set<String> ON_WAVE_SUCCESS = Set.of("next-wave", "pause"), ON_FAILURE = Set.of("pause", "abort-keep", "abort-revert");
    /** Defaults: 10% / 30% / 60% waves, >= 90% finished, > 10% failed after 5 executed, 5 accuracy points of margin. */
    static final List<Double> DEFAULT_WAVES = List.of(0.1, 0.3, 0.6);

    /** What an operator asks for; null fields take the defaults. {@code deviceIds} null: every device with a feasible assignment. */
    public record Plan(String modelVersion, List<String> deviceIds, List<Double> waveFractions, Double successThreshold,
                       Double errorThreshold, Integer errorMinExecuted, Double accuracyMargin, String onWaveSuccess, String onFailure,
                       String actor) {
        /** The plan as the authenticated user asked for it (the actor is who logged in, never what the body says). */
        Plan withActor(String who) {
            return new Plan(modelVersion, deviceIds, waveFractions, successThreshold, errorThreshold, errorMinExecuted, accuracyMargin,
                    onWaveSuccess, onFailure, who);
        }
    }

    /** An operator action: who and why; {@code mode} of an abort: keep or revert. */
    public record Action(String actor, String reason, String mode) {
        Action withActor(String who) {
            return new Action(who, reason, mode);
        }
    }

    public record Wave(int wave, int devices, int scheduled, int targeted, int finished, int failed, int reverting, int reverted,
                       Double predictedAccuracy, Double measuredAccuracy, int measured) {}

    public record Transition(String from, String to, int wave, String actor, String reason, Instant at) {}

    public record Rollout(String rolloutId, String modelVersion, String state, int currentWave, int waves, double successThreshold,
                          double errorThreshold, int errorMinExecuted, double accuracyMargin, String onWaveSuccess, String onFailure,
                          String createdBy, Instant createdAt, List<Wave> progress, List<Transition> transitions) {}

    final AgroalDataSource dataSource;
    final RegistryService service;

    Rollouts(AgroalDataSource dataSource, RegistryService service) {
        this.dataSource = dataSource;
        this.service = service;
    }

    public Rollout create(Plan p) throws ModelVersions.BadRequest, SQLException {
        if (p == null || p.modelVersion() == null) throw new ModelVersions.BadRequest(400, "modelVersion is required");
        if (p.actor() == null || p.actor().isBlank()) throw new ModelVersions.BadRequest(400, "actor is required (who starts the rollout)");
        List<Double> fractions = p.waveFractions() == null ? DEFAULT_WAVES : p.waveFractions();
        double sum = fractions.stream().mapToDouble(Double::doubleValue).sum();
        if (fractions.isEmpty() || fractions.stream().anyMatch(f -> f == null || !(f > 0)) || Math.abs(sum - 1) > 1e-6) {
            throw new ModelVersions.BadRequest(400, "waveFractions must be positive and sum to 1, got " + fractions);
        }
        double success = orDefault(p.successThreshold(), 0.9), error = orDefault(p.errorThreshold(), 0.1), margin = orDefault(p.accuracyMargin(), 0.05);
        int minExecuted = p.errorMinExecuted() == null ? 5 : p.errorMinExecuted();
        if (!(success > 0 && success <= 1) || !(error >= 0 && error < 1) || minExecuted < 1 || !(margin >= 0)) {
            throw new ModelVersions.BadRequest(400, "need 0 < successThreshold <= 1, 0 <= errorThreshold < 1, errorMinExecuted >= 1, accuracyMargin >= 0");
        }
        String onSuccess = p.onWaveSuccess() == null ? "next-wave" : p.onWaveSuccess(), onFailure = p.onFailure() == null ? "pause" : p.onFailure();
        if (!ON_WAVE_SUCCESS.contains(onSuccess)) throw new ModelVersions.BadRequest(400, "onWaveSuccess must be one of " + ON_WAVE_SUCCESS);
        if (!ON_FAILURE.contains(onFailure)) throw new ModelVersions.BadRequest(400, "onFailure must be one of " + ON_FAILURE);
        String id = "r-" + UUID.randomUUID().toString().substring(0, 8);
        inTransaction(c -> {
        try (PreparedStatement st = c.prepareStatement("select 1 from model_versions where model_version = ?")) {
            st.setString(1, p.modelVersion());
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) throw new ModelVersions.BadRequest(404, "model version " + p.modelVersion() + " is not registered");
            }
        }
        List<String[]> targets = new ArrayList<>(); // device, previous version
        try (PreparedStatement st = c.prepareStatement("select device_id, coalesce(update_version, model_version) from devices "
                // by default: every device that runs something now (one with no feasible configuration has nothing to update)
                + "where capabilities is not null" + (p.deviceIds() == null ? " and feasible" : " and device_id = any(?)") + " order by device_id")) {
            if (p.deviceIds() != null) st.setArray(1, c.createArrayOf("text", p.deviceIds().toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) targets.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        if (targets.isEmpty()) throw new ModelVersions.BadRequest(400, "no known devices to roll out to");
        if (p.deviceIds() != null && targets.size() < p.deviceIds().size()) {
            throw new ModelVersions.BadRequest(400, (p.deviceIds().size() - targets.size()) + " of the devices are unknown to the registry");
        }
        RolloutEngine.exec(c, "insert into rollouts (rollout_id, model_version, state, current_wave, waves, success_threshold, error_threshold, "
                + "error_min_executed, accuracy_margin, on_wave_success, on_failure, created_by) values (?, ?, 'running', 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                id, p.modelVersion(), fractions.size(), success, error, minExecuted, margin, onSuccess, onFailure, p.actor());
        // waves in device-id order, sized by the fractions (the last takes the rest); each wave has at least one device
        int start = 0;
        double cumulative = 0;
        for (int w = 0; w < fractions.size(); w++) {
            cumulative += fractions.get(w);
            int end = w == fractions.size() - 1 ? targets.size() : Math.max(start + 1, (int) Math.round(cumulative * targets.size()));
            end = Math.min(end, targets.size());
            for (int i = start; i < end; i++) {
                RolloutEngine.exec(c, "insert into rollout_devices (rollout_id, device_id, wave, state, previous_version) values (?, ?, ?, 'scheduled', ?)",
                        id, targets.get(i)[0], w + 1, targets.get(i)[1]);
            }
            start = end;
        }
        if (start < targets.size() || countWaves(c, id) < fractions.size()) {
            throw new ModelVersions.BadRequest(400, targets.size() + " devices cannot fill " + fractions.size() + " waves");
        }
        RolloutEngine.transition(c, id, null, "running", 0, "operator:" + p.actor(), "created for " + targets.size() + " devices in "
                + fractions.size() + " waves");
        Transaction tx = new Transaction(c, ServiceRuntime.schemas());
        RolloutEngine.startWave(tx, RolloutEngine.lock(c, id), 1, "operator:" + p.actor());
        });
        return find(id).orElseThrow();
    }

    /** pause | resume | abort | retry-failed, each recorded with the operator and the reason. */
    public Rollout act(String id, String action, Action a) throws ModelVersions.BadRequest, SQLException {
        if (a == null || a.actor() == null || a.actor().isBlank()) throw new ModelVersions.BadRequest(400, "actor is required");
        String who = "operator:" + a.actor(), why = a.reason() == null || a.reason().isBlank() ? action : a.reason();
        inTransaction(c -> {
        RolloutEngine.State r = RolloutEngine.lock(c, id);
        if (r == null) throw new ModelVersions.BadRequest(404, "no rollout " + id);
        Transaction tx = new Transaction(c, ServiceRuntime.schemas());
        switch (action) {
            case "pause" -> {
                require(r, "running");
                RolloutEngine.setState(c, r, "paused", r.wave(), who, why);
            }
            case "resume" -> {
                require(r, "paused");
                RolloutEngine.WaveStats w = RolloutEngine.stats(c, r.id(), r.wave());
                boolean concluded = r.nextOnResume() || w.finished() + w.failed() == w.devices() || w.finished() >= r.successThreshold() * w.devices();
                if (concluded) {
                    // the operator accepts the wave as it stands (after a pause on success, or overriding a threshold)
                    RolloutEngine.advance(tx, r, who, "wave " + r.wave() + " accepted: " + why);
                } else {
                    RolloutEngine.setState(c, r, "running", r.wave(), who, why);
                    RolloutEngine.evaluate(tx, r.id());
                }
            }
            case "abort" -> {
                if (!Set.of("running", "paused").contains(r.state())) throw new ModelVersions.BadRequest(409, "rollout " + id + " is " + r.state());
                String mode = a.mode() == null ? "keep" : a.mode();
                if (mode.equals("revert")) RolloutEngine.revert(tx, r, who, why);
                else if (mode.equals("keep")) RolloutEngine.setState(c, r, "aborted", r.wave(), who, why + "; devices keep what they run");
                else throw new ModelVersions.BadRequest(400, "mode must be keep or revert");
            }
            case "retry-failed" -> {
                if (!Set.of("running", "paused").contains(r.state())) throw new ModelVersions.BadRequest(409, "rollout " + id + " is " + r.state());
                List<String> failed = RolloutEngine.devices(c, r.id(), r.wave(), "failed");
                for (String d : failed) {
                    RolloutEngine.exec(c, "update rollout_devices set state = 'targeted', reason = 'retry', updated_at = now() "
                            + "where rollout_id = ? and device_id = ?", r.id(), d);
                    RolloutEngine.target(tx, d, r.version(), r.id(), r.wave(), "retry of rollout " + r.id() + " wave " + r.wave(), true);
                }
                RolloutEngine.transition(c, r.id(), r.state(), "running", r.wave(), who, "retrying " + failed.size() + " failed devices: " + why);
                RolloutEngine.exec(c, "update rollouts set state = 'running', updated_at = now() where rollout_id = ?", r.id());
            }
            default -> throw new ModelVersions.BadRequest(400, "unknown action " + action + " (pause, resume, abort, retry-failed)");
        }
        });
        return find(id).orElseThrow();
    }

    /** Work on the registry's tables that commits as a whole or not at all. */
    private interface Work {
        void run(Connection c) throws ModelVersions.BadRequest, SQLException;
    }

    /** Runs {@code work} in one transaction; what it published goes out once it committed. */
    private void inTransaction(Work work) throws ModelVersions.BadRequest, SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                work.run(c);
                c.commit();
            } catch (ModelVersions.BadRequest | SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
        service.published();
    }

    private static void require(RolloutEngine.State r, String state) throws ModelVersions.BadRequest {
        if (!r.state().equals(state)) throw new ModelVersions.BadRequest(409, "rollout " + r.id() + " is " + r.state() + ", not " + state);
    }

    private static double orDefault(Double v, double d) {
        return v == null ? d : v;
    }

    private static int countWaves(Connection c, String id) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("select count(distinct wave) from rollout_devices where rollout_id = ?")) {
            st.setString(1, id);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    public List<Rollout> list() throws SQLException {
        List<String> ids = new ArrayList<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement st = c.prepareStatement("select rollout_id from rollouts order by created_at desc");
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
            try (PreparedStatement st = c.prepareStatement("select rollout_id, model_version, state, current_wave, waves, success_threshold, error_threshold, "
                    + "error_min_executed, accuracy_margin, on_wave_success, on_failure, created_by, created_at from rollouts where rollout_id = ?")) {
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next()) return Optional.empty();
                    head = new Rollout(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4), rs.getInt(5), rs.getDouble(6), rs.getDouble(7),
                            rs.getInt(8), rs.getDouble(9), rs.getString(10), rs.getString(11), rs.getString(12), rs.getTimestamp(13).toInstant(),
                            new ArrayList<>(), new ArrayList<>());
                }
            }
            try (PreparedStatement st = c.prepareStatement("select wave, count(*), count(*) filter (where state = 'scheduled'), "
                    + "count(*) filter (where state = 'targeted'), count(*) filter (where state = 'finished'), count(*) filter (where state = 'failed'), "
                    + "count(*) filter (where state = 'reverting'), count(*) filter (where state = 'reverted'), avg(predicted_accuracy), "
                    + "avg(measured_accuracy), count(measured_accuracy) from rollout_devices where rollout_id = ? group by wave order by wave")) {
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        head.progress().add(new Wave(rs.getInt(1), rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getInt(5), rs.getInt(6), rs.getInt(7),
                                rs.getInt(8), (Double) rs.getObject(9), (Double) rs.getObject(10), rs.getInt(11)));
                    }
                }
            }
            try (PreparedStatement st = c.prepareStatement("select from_state, to_state, wave, actor, reason, at from rollout_transitions "
                    + "where rollout_id = ? order by id")) {
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        head.transitions().add(new Transition(rs.getString(1), rs.getString(2), rs.getInt(3), rs.getString(4), rs.getString(5),
                                rs.getTimestamp(6).toInstant()));
                    }
                }
            }
            return Optional.of(head);
        }
    }
}
