package ai.coalora.registry;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceTarget;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.planning.QualityMeasure;
import ai.coalora.registry.RolloutPolicy.OnFailure;
import ai.coalora.registry.RolloutPolicy.OnWaveSuccess;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * The rollout state machine, persisted in the registry's tables and driven by events (assignments, device
 * status, telemetry) and by operators. Every step runs inside the caller's transaction, so a state change,
 * its recorded transition and the device targets it publishes commit together.
 *
 * The states and their legal moves are {@link RolloutState}'s table; every change goes through {@link #setState} or
 * {@link #transition}, which refuse a move the table does not hold.
 *
 * <pre>
 *   running --wave succeeded, more waves, next-wave--> running (next wave)
 *   running --wave succeeded, more waves, pause------> paused  --resume--> running (next wave)
 *   running --last wave succeeded------------------> succeeded
 *   running --error threshold or quality gate------> paused | aborted (abort-keep) | reverting (abort-revert)
 *   reverting --every device back on its previous--> reverted
 *   running|paused --operator abort----------------> aborted | reverting
 * </pre>
 * A wave succeeds when the share of its devices finished is >= the success threshold and the mean
 * quality they measured, in the version's measure, falls short of the mean the Pareto front predicted for their
 * configurations by no more than the margin ({@link QualityMeasure#fallsShort}: accuracy points below, or a
 * perplexity ratio above). The gate judges as soon as the minimum number of devices reported telemetry (a bad version
 * reaches few devices) and again when the wave succeeds. A wave fails when, after the minimum number
 * executed, the share failed is > the error threshold.
 */
final class RolloutEngine {
    static final String SOURCE = "/coalora/registry/rollouts";
    /** The alias a device follows while no rollout pins it (the planner's, {@code coalora.planner.alias}). */
    static final String FOLLOWED_ALIAS = "production";

    /** A rollout's settings and position, read under a row lock. */
    record State(
            String id,
            String version,
            RolloutState state,
            int wave,
            int waves,
            double successThreshold,
            double errorThreshold,
            int errorMinExecuted,
            QualityMeasure measure,
            double qualityMargin,
            OnWaveSuccess onWaveSuccess,
            OnFailure onFailure,
            boolean nextOnResume) {
        /** The row mapper of the {@code rollouts} table (with its version's {@code measure}), by column name. */
        static State from(ResultSet rs) throws SQLException {
            return new State(
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
                    rs.getBoolean("next_on_resume"));
        }
    }

    /** A wave's counts. */
    /** A wave's counts; {@code measured} devices reported telemetry, whose mean is {@code measuredQuality}. */
    record WaveStats(int devices, int finished, int failed, int measured, double predicted, double measuredQuality) {}

    private RolloutEngine() {}

    static State lock(Connection c, String rolloutId) throws SQLException {
        try (PreparedStatement st =
                c.prepareStatement("select r.*, v.measure from rollouts r join model_versions v using (model_version) "
                        + "where r.rollout_id = ? for update of r")) {
            st.setString(1, rolloutId);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? State.from(rs) : null;
            }
        }
    }

    /** Targets a wave's devices at the rollout's version; devices already running it count as finished at once. */
    static void startWave(Transaction tx, State r, int wave, String actor) throws SQLException {
        Connection c = tx.connection();
        requireMove(r, RolloutState.RUNNING);
        exec(
                c,
                "update rollouts set current_wave = ?, state = ?, next_on_resume = false, updated_at = now() where rollout_id = ?",
                wave,
                RolloutState.RUNNING.sql(),
                r.id());
        exec(
                c,
                "update rollout_devices rd set state = ?, predicted_quality = d.predicted_quality, "
                        + "measured_quality = (select t.quality from telemetry t where t.device_id = d.device_id and t.model_version = ? order by t.id desc limit 1), "
                        + "reason = 'already running the version', updated_at = now() from devices d "
                        + "where rd.rollout_id = ? and rd.wave = ? and rd.state = ? and d.device_id = rd.device_id "
                        + "and d.update_status = ? and d.update_version = ?",
                RolloutDeviceState.FINISHED.sql(),
                r.version(),
                r.id(),
                wave,
                RolloutDeviceState.SCHEDULED.sql(),
                Payloads.DeviceStatus.APPLIED,
                r.version());
        for (String device : devices(c, r.id(), wave, RolloutDeviceState.SCHEDULED)) {
            setDeviceState(c, r.id(), device, RolloutDeviceState.TARGETED);
            target(tx, device, r.version(), r.id(), wave, "rollout " + r.id() + " wave " + wave, false);
        }
        transition(
                c,
                r.id(),
                r.state(),
                RolloutState.RUNNING,
                wave,
                actor,
                "wave " + wave + " of " + r.waves() + " started");
        evaluate(tx, r.id());
    }

    /** Re-reads the rollout and moves it if its current wave decided. */
    static void evaluate(Transaction tx, String rolloutId) throws SQLException {
        Connection c = tx.connection();
        State r = lock(c, rolloutId);
        if (r == null) return;
        if (r.state() == RolloutState.REVERTING) {
            if (devices(c, r.id(), null, RolloutDeviceState.REVERTING).isEmpty()) {
                setState(
                        c,
                        r,
                        RolloutState.REVERTED,
                        r.wave(),
                        "rollout",
                        "every device is back on its previous version");
            }
            return;
        }
        if (r.state() != RolloutState.RUNNING) return;
        WaveStats w = stats(c, r.id(), r.wave());
        int executed = w.finished() + w.failed();
        if (executed >= r.errorMinExecuted() && w.failed() > r.errorThreshold() * w.devices()) {
            fail(
                    tx,
                    r,
                    "threshold:error",
                    String.format(
                            "error threshold: %d of %d devices failed (%.0f%% > %.0f%%, %d executed)",
                            w.failed(),
                            w.devices(),
                            100.0 * w.failed() / w.devices(),
                            100 * r.errorThreshold(),
                            executed));
            return;
        }
        // the gate judges as soon as the minimum number of devices reported (so a bad version hurts few), and again at
        // success
        boolean enoughEvidence =
                w.measured() >= r.errorMinExecuted() || w.measured() >= Math.ceil(r.successThreshold() * w.devices());
        QualityMeasure m = r.measure();
        if (enoughEvidence && m.fallsShort(w.measuredQuality(), w.predicted(), r.qualityMargin())) {
            fail(
                    tx,
                    r,
                    "gate:" + m.jsonName(),
                    String.format(
                            Locale.ROOT,
                            "%s gate: wave %d measured %.4f on %d devices, %s the predicted %.4f (margin %s)",
                            m.jsonName(),
                            r.wave(),
                            w.measuredQuality(),
                            w.measured(),
                            m.shortfallText(w.measuredQuality(), w.predicted()),
                            w.predicted(),
                            m.marginText(r.qualityMargin())));
            return;
        }
        if (w.finished() < r.successThreshold() * w.devices()) return; // wave still running
        int evidence = (int) Math.ceil(r.successThreshold() * w.devices());
        if (w.measured() < Math.min(evidence, w.finished())) return; // waiting for telemetry to judge quality
        String summary = String.format(
                Locale.ROOT,
                "wave %d succeeded: %d of %d finished (>= %.0f%%), measured %s %.4f vs predicted %.4f",
                r.wave(),
                w.finished(),
                w.devices(),
                100 * r.successThreshold(),
                m.jsonName(),
                w.measuredQuality(),
                w.predicted());
        advance(tx, r, "threshold:success", summary);
    }

    /** After a wave succeeded (or an operator accepted it): the next wave, a pause, or done. */
    static void advance(Transaction tx, State r, String actor, String reason) throws SQLException {
        Connection c = tx.connection();
        if (r.wave() >= r.waves()) {
            setState(c, r, RolloutState.SUCCEEDED, r.wave(), actor, reason + "; all " + r.waves() + " waves done");
        } else if (r.onWaveSuccess() == OnWaveSuccess.PAUSE && !actor.startsWith("operator:")) {
            exec(c, "update rollouts set next_on_resume = true where rollout_id = ?", r.id());
            setState(
                    c,
                    r,
                    RolloutState.PAUSED,
                    r.wave(),
                    actor,
                    reason + "; pausing before wave " + (r.wave() + 1) + " (on-wave-success: pause)");
        } else {
            transition(c, r.id(), r.state(), r.state(), r.wave(), actor, reason);
            startWave(tx, lock(c, r.id()), r.wave() + 1, actor);
        }
    }

    static void fail(Transaction tx, State r, String actor, String reason) throws SQLException {
        switch (r.onFailure()) {
            case PAUSE ->
                setState(
                        tx.connection(),
                        r,
                        RolloutState.PAUSED,
                        r.wave(),
                        actor,
                        reason + "; paused (on-failure: pause)");
            case ABORT_KEEP ->
                setState(
                        tx.connection(),
                        r,
                        RolloutState.ABORTED,
                        r.wave(),
                        actor,
                        reason + "; aborted, devices keep what they run");
            case ABORT_REVERT -> revert(tx, r, actor, reason + "; aborting and reverting");
        }
    }

    /** Sends every device the rollout moved back to the version it ran before. */
    static void revert(Transaction tx, State r, String actor, String reason) throws SQLException {
        Connection c = tx.connection();
        setState(c, r, RolloutState.REVERTING, r.wave(), actor, reason);
        List<String[]> moved = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("select rd.device_id, rd.previous_version, "
                + "(d.update_version = ? or d.model_version = ?) from rollout_devices rd left join devices d on d.device_id = rd.device_id "
                + "where rd.rollout_id = ? and rd.state in (?, ?, ?)")) {
            st.setString(1, r.version());
            st.setString(2, r.version());
            st.setString(3, r.id());
            st.setString(4, RolloutDeviceState.TARGETED.sql());
            st.setString(5, RolloutDeviceState.FINISHED.sql());
            st.setString(6, RolloutDeviceState.FAILED.sql());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next())
                    moved.add(new String[] {rs.getString(1), rs.getString(2), Boolean.toString(rs.getBoolean(3))});
            }
        }
        for (String[] m : moved) {
            boolean onNewVersion = Boolean.parseBoolean(m[2]);
            exec(
                    c,
                    "update rollout_devices set state = ?, reason = ?, updated_at = now() where rollout_id = ? and device_id = ?",
                    (onNewVersion ? RolloutDeviceState.REVERTING : RolloutDeviceState.REVERTED).sql(),
                    onNewVersion
                            ? "reverting to " + (m[1] == null ? "the production alias" : m[1])
                            : "never left its previous version",
                    r.id(),
                    m[0]);
            target(tx, m[0], m[1], null, null, "abort-revert of rollout " + r.id(), false);
        }
        evaluate(tx, r.id());
    }

    /**
     * Pins {@code device} to {@code version} (null: hands it back to the followed alias), remembering the pin on its row
     * so a later rollout knows what to revert it to.
     */
    static void target(
            Transaction tx, String device, String version, String rolloutId, Integer wave, String reason, boolean retry)
            throws SQLException {
        exec(tx.connection(), "update devices set target_version = ? where device_id = ?", version, device);
        DeviceTarget t = new DeviceTarget(device, version, rolloutId, wave, reason, retry ? true : null);
        tx.publish(
                Topic.DEVICE_TARGETS,
                device,
                CloudEvent.withId(
                        UUID.randomUUID().toString(),
                        SOURCE,
                        EventTypes.DEVICE_TARGET,
                        device,
                        ServiceRuntime.schemas().dataschema(EventTypes.DEVICE_TARGET),
                        Payloads.toJson(t)));
    }

    static WaveStats stats(Connection c, String rolloutId, int wave) throws SQLException {
        String finished = RolloutDeviceState.FINISHED.sql();
        try (PreparedStatement st = c.prepareStatement(
                "select count(*), count(*) filter (where state = ?), "
                        + "count(*) filter (where state = ?), count(measured_quality) filter (where state = ?), "
                        + "avg(predicted_quality) filter (where state = ? and measured_quality is not null), "
                        + "avg(measured_quality) filter (where state = ?) from rollout_devices where rollout_id = ? and wave = ?")) {
            st.setString(1, finished);
            st.setString(2, RolloutDeviceState.FAILED.sql());
            st.setString(3, finished);
            st.setString(4, finished);
            st.setString(5, finished);
            st.setString(6, rolloutId);
            st.setInt(7, wave);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return new WaveStats(
                        rs.getInt(1), rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getDouble(5), rs.getDouble(6));
            }
        }
    }

    static List<String> devices(Connection c, String rolloutId, Integer wave, RolloutDeviceState state)
            throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement st =
                c.prepareStatement("select device_id from rollout_devices where rollout_id = ? and state = ?"
                        + (wave == null ? "" : " and wave = ?") + " order by device_id")) {
            st.setString(1, rolloutId);
            st.setString(2, state.sql());
            if (wave != null) st.setInt(3, wave);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** Moves the rollout to {@code to} and records the transition; a move the lifecycle table does not hold is refused. */
    static void setState(Connection c, State r, RolloutState to, int wave, String actor, String reason)
            throws SQLException {
        requireMove(r, to);
        exec(c, "update rollouts set state = ?, updated_at = now() where rollout_id = ?", to.sql(), r.id());
        transition(c, r.id(), r.state(), to, wave, actor, reason);
    }

    /** Records a transition ({@code from} null: the rollout was created); a move the lifecycle table does not hold is refused. */
    static void transition(
            Connection c, String rolloutId, RolloutState from, RolloutState to, int wave, String actor, String reason)
            throws SQLException {
        if (from == null ? to != RolloutState.INITIAL : !from.canMoveTo(to)) {
            throw new IllegalStateException("rollout " + rolloutId + ": no move from "
                    + (from == null ? "creation" : from.sql()) + " to " + to.sql());
        }
        exec(
                c,
                "insert into rollout_transitions (rollout_id, from_state, to_state, wave, actor, reason) values (?, ?, ?, ?, ?, ?)",
                rolloutId,
                from == null ? null : from.sql(),
                to.sql(),
                wave,
                actor,
                reason);
    }

    private static void requireMove(State r, RolloutState to) {
        if (!r.state().canMoveTo(to))
            throw new IllegalStateException(
                    "rollout " + r.id() + ": no move from " + r.state().sql() + " to " + to.sql());
    }

    static void setDeviceState(Connection c, String rolloutId, String device, RolloutDeviceState to)
            throws SQLException {
        exec(
                c,
                "update rollout_devices set state = ?, updated_at = now() where rollout_id = ? and device_id = ?",
                to.sql(),
                rolloutId,
                device);
    }

    static void exec(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) st.setObject(i + 1, params[i]);
            st.executeUpdate();
        }
    }

    // ---- what the fleet's events mean for rollouts ----

    /** A rollout's assignment: remember its prediction; no feasible configuration on the version fails the device. */
    static void onAssignment(Transaction tx, Payloads.Assignment a) throws SQLException {
        if (a.rolloutId() == null) return;
        Connection c = tx.connection();
        lock(c, a.rolloutId()); // the rollout before its device's row, as everywhere
        exec(
                c,
                "update rollout_devices set assignment_id = ?, predicted_quality = ?, state = case when ? then state else ? end, "
                        + "reason = case when ? then reason else ? end, updated_at = now() where rollout_id = ? and device_id = ? and state = ?",
                a.assignmentId(),
                a.predicted(),
                a.feasible(),
                RolloutDeviceState.FAILED.sql(),
                a.feasible(),
                a.reason(),
                a.rolloutId(),
                a.deviceId(),
                RolloutDeviceState.TARGETED.sql());
        if (!a.feasible()) evaluate(tx, a.rolloutId());
    }

    /**
     * Locks, in rollout-id order, the active rollouts {@code devices} belong to. Every path locks a rollout before the
     * rows of its devices (an operator's action locks the rollout, then updates its devices), so a batch of device
     * events must too, before any row (the fleet handler's {@code begin}): the other order lets the two wait on each
     * other.
     */
    static void lockRolloutsOf(Connection c, Collection<String> devices) throws SQLException {
        if (devices.isEmpty()) return;
        try (PreparedStatement st = c.prepareStatement(
                "select rollout_id from rollouts where rollout_id in (select rollout_id from rollout_devices where device_id = any(?)) "
                        + "and state in (?, ?, ?) order by rollout_id for update")) {
            st.setArray(1, c.createArrayOf("text", devices.toArray()));
            st.setString(2, RolloutState.RUNNING.sql());
            st.setString(3, RolloutState.PAUSED.sql());
            st.setString(4, RolloutState.REVERTING.sql());
            st.executeQuery().close();
        }
    }

    /**
     * The alias devices follow moved: a device a final rollout (succeeded or aborted) left pinned to its version, and
     * which followed the alias before that rollout, follows the alias again. (A revert hands such devices back at once.)
     */
    static void releaseFinishedPins(Transaction tx) throws SQLException {
        Connection c = tx.connection();
        List<String> released = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(
                "select d.device_id from devices d join lateral (select rd.previous_version, r.model_version, r.state "
                        + "from rollout_devices rd join rollouts r on r.rollout_id = rd.rollout_id where rd.device_id = d.device_id "
                        + "and rd.state <> ? order by r.created_at desc limit 1) last on true "
                        + "where d.target_version is not null and last.previous_version is null "
                        + "and last.model_version = d.target_version and last.state in (?, ?) order by d.device_id for update of d")) {
            st.setString(1, RolloutDeviceState.SCHEDULED.sql());
            st.setString(2, RolloutState.SUCCEEDED.sql());
            st.setString(3, RolloutState.ABORTED.sql());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) released.add(rs.getString(1));
            }
        }
        for (String device : released) {
            target(
                    tx,
                    device,
                    null,
                    null,
                    null,
                    "its rollout is over and " + FOLLOWED_ALIAS + " moved: following it again",
                    false);
        }
    }

    /** A device applied (or could not apply) a package: finished/failed on the rollout's version, reverted off it. */
    static void onStatus(Transaction tx, Payloads.DeviceStatus s) throws SQLException {
        Connection c = tx.connection();
        List<String> touched = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(
                "select rd.rollout_id, rd.state, r.model_version from rollout_devices rd join rollouts r "
                        + "on r.rollout_id = rd.rollout_id where rd.device_id = ? and rd.state in (?, ?) and r.state in (?, ?, ?)")) {
            st.setString(1, s.deviceId());
            st.setString(2, RolloutDeviceState.TARGETED.sql());
            st.setString(3, RolloutDeviceState.REVERTING.sql());
            st.setString(4, RolloutState.RUNNING.sql());
            st.setString(5, RolloutState.PAUSED.sql());
            st.setString(6, RolloutState.REVERTING.sql());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String id = rs.getString(1), version = rs.getString(3);
                    RolloutDeviceState state = RolloutDeviceState.of(rs.getString(2));
                    boolean applied = s.status().equals(Payloads.DeviceStatus.APPLIED);
                    if (state == RolloutDeviceState.TARGETED && version.equals(s.modelVersion())) {
                        // telemetry may have arrived first (another topic): take it from the table
                        exec(
                                c,
                                "update rollout_devices rd set state = ?, reason = ?, predicted_quality = coalesce(rd.predicted_quality, "
                                        + "(select predicted_quality from devices where device_id = rd.device_id)), measured_quality = coalesce("
                                        + "rd.measured_quality, (select t.quality from telemetry t where t.device_id = rd.device_id and t.model_version = ? "
                                        + "order by t.id desc limit 1)), updated_at = now() where rollout_id = ? and device_id = ?",
                                (applied ? RolloutDeviceState.FINISHED : RolloutDeviceState.FAILED).sql(),
                                s.reason(),
                                version,
                                id,
                                s.deviceId());
                        touched.add(id);
                    } else if (state == RolloutDeviceState.REVERTING && !version.equals(s.modelVersion()) && applied) {
                        exec(
                                c,
                                "update rollout_devices set state = ?, reason = ?, updated_at = now() where rollout_id = ? and device_id = ?",
                                RolloutDeviceState.REVERTED.sql(),
                                "back on " + s.modelVersion(),
                                id,
                                s.deviceId());
                        touched.add(id);
                    }
                }
            }
        }
        for (String id : touched) evaluate(tx, id);
    }

    /** A finished device measured its quality on the rollout's version: evidence for the gate. */
    static void onTelemetry(Transaction tx, Payloads.EvaluationTelemetry t) throws SQLException {
        Connection c = tx.connection();
        List<String> touched = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(
                "update rollout_devices rd set measured_quality = ?, updated_at = now() from rollouts r "
                        + "where r.rollout_id = rd.rollout_id and rd.device_id = ? and r.model_version = ? and rd.state = ? "
                        + "and r.state = ? returning rd.rollout_id")) {
            st.setDouble(1, t.measured());
            st.setString(2, t.deviceId());
            st.setString(3, t.modelVersion());
            st.setString(4, RolloutDeviceState.FINISHED.sql());
            st.setString(5, RolloutState.RUNNING.sql());
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) touched.add(rs.getString(1));
            }
        }
        for (String id : touched) evaluate(tx, id);
    }
}
