package ai.coalora.planner;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.DeviceTarget;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.events.Payloads.ModelRegistered;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.EventHandler;
import ai.coalora.fleet.messaging.EventTimes;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.planning.ParetoSelection;
import ai.coalora.fleet.planning.ParetoSelection.Decision;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Plans devices. A device is planned on the front of its target version when a rollout set one, else on
 * the front of the followed alias (production). Re-planning happens when its capabilities or target
 * change, when the alias moves (devices that follow it), and when a targeted version's front arrives.
 * An assignment is published only when the decision changes; before any front is known devices wait.
 * Every decision, changed or not, counts in {@code coalora_planner_decisions_total{outcome=feasible|infeasible}}
 * once its transaction committed.
 */
public final class PlanningHandler implements EventHandler {
    static final String SOURCE = "/coalora/planner";

    private final String alias;
    private final AtomicLong decisions = new AtomicLong();
    private final Counter feasibleDecisions, infeasibleDecisions;
    /**
     * Planner replicas share the {@code fronts} table but only one receives a promotion (the aliases topic is keyed by
     * alias): every plan reads the followed alias from the table under a shared advisory lock, a promotion takes it
     * exclusively, so no replica plans on a front another has replaced, and the promotion's re-plan sees every device.
     */
    static final long FRONT_LOCK = 0x636f616c6f7261L; // "coalora"

    private volatile ParetoSelection production; // the followed alias's front, as last read from the fronts table
    // fronts of registered versions, loaded from the versions table on first use
    private final Map<String, ParetoSelection> byVersion = new ConcurrentHashMap<>();

    private final FrontSource fronts;

    /** @param fronts where fronts and alias moves are read: the registry, never the events' copies */
    public PlanningHandler(String alias, ParetoSelection initial, FrontSource fronts, MeterRegistry meters) {
        this.alias = alias;
        this.fronts = fronts;
        this.production = initial;
        this.feasibleDecisions = decisionCounter(meters, "feasible");
        this.infeasibleDecisions = decisionCounter(meters, "infeasible");
    }

    private static Counter decisionCounter(MeterRegistry meters, String outcome) {
        return Counter.builder("coalora.planner.decisions")
                .description("Planning decisions (changed or not) by outcome: feasible, infeasible")
                .tag("outcome", outcome)
                .register(meters);
    }

    public long decisions() {
        return decisions.get();
    }

    public ParetoSelection selection() {
        return production;
    }

    /**
     * The front lock before any device row, for the whole batch: exclusive when the batch promotes the followed alias
     * (its re-plan must see every device), shared otherwise. Taken per event instead, a capabilities event holding its
     * device's row would wait for a promotion that waits for that row.
     */
    @Override
    public void begin(List<CloudEvent> fresh, Transaction tx) throws SQLException {
        boolean promotes = false;
        for (CloudEvent e : fresh) {
            promotes |= e.type().equals(EventTypes.MODEL_PROMOTED)
                    && alias.equals(e.data().path("alias").asText());
        }
        lockFront(tx.connection(), !promotes);
    }

    private static void lockFront(Connection c, boolean shared) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(
                shared ? "select pg_advisory_xact_lock_shared(?)" : "select pg_advisory_xact_lock(?)")) {
            st.setLong(1, FRONT_LOCK);
            st.execute();
        }
    }

    @Override
    public void apply(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException {
        switch (event.type()) {
            case EventTypes.CAPABILITIES -> onCapabilities(event, tx);
            case EventTypes.MODEL_PROMOTED -> onPromoted(event, EventHandler.data(event, ModelPromoted.class), tx);
            case EventTypes.MODEL_REGISTERED ->
                onRegistered(event, EventHandler.data(event, ModelRegistered.class), tx);
            case EventTypes.DEVICE_TARGET -> onTarget(event, EventHandler.data(event, DeviceTarget.class), tx);
            default -> throw new RejectedEvent("planner does not handle " + event.type());
        }
    }

    private void onCapabilities(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException {
        DeviceCapabilities caps = EventHandler.data(event, DeviceCapabilities.class);
        if (event.subject() != null && !event.subject().equals(caps.deviceId())) {
            throw new RejectedEvent(
                    "subject '" + event.subject() + "' differs from data.deviceId '" + caps.deviceId() + "'");
        }
        int applied = update(
                tx,
                "insert into devices (device_id, capabilities, capabilities_event_id, capabilities_event_time) "
                        + "values (?, ?::jsonb, ?, ?) on conflict (device_id) do update set capabilities = excluded.capabilities, "
                        + "capabilities_event_id = excluded.capabilities_event_id, capabilities_event_time = "
                        + "excluded.capabilities_event_time, updated_at = now() where "
                        + EventTimes.newer("capabilities_event_time"),
                caps.deviceId(),
                event.data().toString(),
                event.id(),
                EventTimes.of(event));
        if (applied == 0) return; // older than what the device announced since: delivered late, nothing to re-plan
        plan(tx, caps.deviceId(), event.dedupeKey());
    }

    private void onPromoted(CloudEvent event, ModelPromoted announced, Transaction tx)
            throws RejectedEvent, SQLException {
        if (!alias.equals(announced.alias())) return; // e.g. canary: rollouts target devices at it explicitly
        // the registry says where the alias points; the event only says it moved (an older move's event, delivered
        // late, plans on the current target too)
        FrontSource.Alias now = registry(() -> fronts.alias(alias))
                .orElseThrow(() -> new RejectedEvent("the registry has no alias " + alias + ": a forged promotion"));
        if (!now.history().contains(announced.modelVersion()))
            throw new RejectedEvent("the registry's alias " + alias + " never pointed at " + announced.modelVersion()
                    + ": a forged promotion");
        List<Payloads.FrontEntry> front = registeredFront(now.current());
        if (announced.modelVersion().equals(now.current()) && !front.equals(announced.front()))
            throw new RejectedEvent("the promotion's front differs from the registry's front of "
                    + announced.modelVersion() + ": a forged promotion");
        ModelPromoted promoted = new ModelPromoted(
                alias, now.current(), announced.previousVersion(), announced.actor(), announced.reason(), front);
        // the front lock is held exclusively: the batch began with it (begin)
        update(
                tx,
                "insert into fronts (alias, model_version, promoted) values (?, ?, ?::jsonb) on conflict (alias) do update "
                        + "set model_version = excluded.model_version, promoted = excluded.promoted, updated_at = now()",
                promoted.alias(),
                promoted.modelVersion(),
                Payloads.toJson(promoted).toString());
        production = new ParetoSelection(promoted);
        planAll(
                tx,
                "select device_id from devices where target_version is null and capabilities is not null order by device_id",
                null,
                event);
    }

    private void onRegistered(CloudEvent event, ModelRegistered registered, Transaction tx)
            throws RejectedEvent, SQLException {
        List<Payloads.FrontEntry> front = registeredFront(registered.modelVersion());
        if (registered.front() != null && !registered.front().equals(front))
            throw new RejectedEvent("the registration's front differs from the registry's front of "
                    + registered.modelVersion() + ": a forged registration");
        update(
                tx,
                "insert into versions (model_version, front) values (?, ?::jsonb) on conflict do nothing",
                registered.modelVersion(),
                Payloads.toJson(front).toString());
        byVersion.put(registered.modelVersion(), selectionOf(registered.modelVersion(), front));
        // devices a rollout targeted at this version before its front arrived
        planAll(
                tx,
                "select device_id from devices where target_version = ? and capabilities is not null order by device_id",
                registered.modelVersion(),
                event);
    }

    private void onTarget(CloudEvent event, DeviceTarget target, Transaction tx) throws SQLException {
        int applied = update(
                tx,
                "insert into devices (device_id, target_version, rollout_id, target_event_time) values (?, ?, ?, ?) "
                        + "on conflict (device_id) do update set target_version = excluded.target_version, rollout_id = "
                        + "excluded.rollout_id, target_event_time = excluded.target_event_time, updated_at = now() where "
                        + EventTimes.newer("target_event_time"),
                target.deviceId(),
                target.modelVersion(),
                target.rolloutId(),
                EventTimes.of(event));
        if (applied == 0) return; // a newer target was already applied
        plan(tx, target.deviceId(), event.dedupeKey(), Boolean.TRUE.equals(target.retry()));
    }

    private void planAll(Transaction tx, String query, String parameter, CloudEvent trigger) throws SQLException {
        try (PreparedStatement st = tx.connection().prepareStatement(query)) {
            if (parameter != null) st.setString(1, parameter);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) plan(tx, rs.getString(1), trigger.dedupeKey());
            }
        }
    }

    /**
     * Decides for one device and publishes an assignment if the decision differs from the one it holds.
     * The assignment id derives from the device and the event that caused the decision: unique per cause,
     * identical when a replayed cause decides again.
     */
    private void plan(Transaction tx, String deviceId, String cause) throws SQLException {
        plan(tx, deviceId, cause, false);
    }

    /** @param resend publish even an unchanged decision (a retry: the device gets its package again) */
    private void plan(Transaction tx, String deviceId, String cause, boolean resend) throws SQLException {
        Connection c = tx.connection();
        DeviceCapabilities caps;
        String target, rolloutId, capabilitiesEventId;
        boolean hadDecision;
        Boolean feasible;
        String version, config, format, ggufPlan;
        try (PreparedStatement st = c.prepareStatement(
                "select capabilities::text, target_version, rollout_id, feasible, model_version, config_id, "
                        + "runtime_format, capabilities_event_id, gguf_plan from devices where device_id = ?")) {
            st.setString(1, deviceId);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next() || rs.getString(1) == null)
                    return; // capabilities not known yet: planned when they arrive
                caps = Payloads.read(Payloads.JSON.readTree(rs.getString(1)), DeviceCapabilities.class);
                target = rs.getString(2);
                rolloutId = rs.getString(3);
                feasible = (Boolean) rs.getObject(4);
                hadDecision = feasible != null;
                version = rs.getString(5);
                config = rs.getString(6);
                format = rs.getString(7);
                capabilitiesEventId = rs.getString(8);
                ggufPlan = rs.getString(9);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("stored capabilities are not JSON", e);
            }
        }
        ParetoSelection s = target == null ? followed(c) : selectionFor(c, target);
        if (s == null) return; // no front yet for what this device follows: it waits
        Decision d = s.decide(caps);
        decisions.incrementAndGet();
        tx.afterCommit(d.feasible() ? feasibleDecisions::increment : infeasibleDecisions::increment);
        if (!resend
                && hadDecision
                && feasible == d.feasible()
                && Objects.equals(version, s.modelVersion())
                && Objects.equals(config, d.feasible() ? d.choice().configId() : null)
                && Objects.equals(format, d.runtimeFormat())
                && Objects.equals(ggufPlan, ggufPlanKey(d))) {
            return; // same decision as before: nothing new to send
        }
        String assignmentId = UUID.nameUUIDFromBytes((deviceId + "|" + cause).getBytes(StandardCharsets.UTF_8))
                .toString();
        String via = target == null ? s.alias() : null;
        Assignment a = d.feasible()
                ? new Assignment(
                        deviceId,
                        assignmentId,
                        capabilitiesEventId,
                        true,
                        d.reason(),
                        s.modelVersion(),
                        via,
                        d.choice().configId(),
                        d.choice().averageBits(),
                        d.choice().measure(),
                        d.choice().predicted(),
                        d.runtimeFormat(),
                        d.footprint(),
                        target == null ? null : rolloutId,
                        d.gguf())
                : new Assignment(
                        deviceId,
                        assignmentId,
                        capabilitiesEventId,
                        false,
                        d.reason(),
                        s.modelVersion(),
                        via,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        target == null ? null : rolloutId,
                        null);
        update(
                tx,
                "update devices set feasible = ?, model_version = ?, config_id = ?, runtime_format = ?, assignment_id = ?, reason = ?, "
                        + "gguf_plan = ?, updated_at = now() where device_id = ?",
                d.feasible(),
                s.modelVersion(),
                a.configId(),
                a.runtimeFormat(),
                assignmentId,
                d.reason(),
                ggufPlanKey(d),
                deviceId);
        tx.publish(
                Topic.ASSIGNMENTS,
                deviceId,
                CloudEvent.withId(
                        assignmentId,
                        SOURCE,
                        EventTypes.ASSIGNMENT,
                        deviceId,
                        ServiceRuntime.schemas().dataschema(EventTypes.ASSIGNMENT),
                        Payloads.toJson(a)));
    }

    /** "MAPPING:TYPE,TYPE" of a decision's GGUF plan (what the devices table keeps), null without one. */
    private static String ggufPlanKey(Decision d) {
        return d.gguf() == null
                ? null
                : d.gguf().mapping() + ":" + String.join(",", d.gguf().types());
    }

    /** A version's front as the registry has it; a version it does not have is a forged event's. */
    private List<Payloads.FrontEntry> registeredFront(String modelVersion) throws RejectedEvent {
        List<Payloads.FrontEntry> front = registry(() -> fronts.front(modelVersion))
                .orElseThrow(() -> new RejectedEvent("the registry has no version " + modelVersion));
        if (front.isEmpty()) throw new RejectedEvent("version " + modelVersion + " has no front to plan with");
        return front;
    }

    private interface RegistryRead<T> {
        T read() throws IOException;
    }

    /** An unreachable registry is an outage: the batch is retried, never dead-lettered. */
    private static <T> T registry(RegistryRead<T> read) {
        try {
            return read.read();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The followed alias's front as the fronts table has it now (parsed again only when the version changed). */
    private ParetoSelection followed(Connection c) throws SQLException {
        // under the front lock the batch began with (begin): no promotion replaces the front meanwhile
        try (PreparedStatement st = c.prepareStatement("select model_version from fronts where alias = ?")) {
            st.setString(1, alias);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) return null;
                ParetoSelection cached = production;
                if (cached != null && cached.modelVersion().equals(rs.getString(1))) return cached;
            }
        }
        try (PreparedStatement st = c.prepareStatement("select promoted::text from fronts where alias = ?")) {
            st.setString(1, alias);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) return null;
                production = new ParetoSelection(Payloads.JSON.readValue(rs.getString(1), ModelPromoted.class));
                return production;
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("stored promotion is not JSON", e);
            }
        }
    }

    private ParetoSelection selectionFor(Connection c, String version) throws SQLException {
        ParetoSelection s = byVersion.get(version);
        if (s != null) return s;
        try (PreparedStatement st = c.prepareStatement("select front::text from versions where model_version = ?")) {
            st.setString(1, version);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) return null;
                s = selectionOf(
                        version,
                        Payloads.JSON.readValue(
                                rs.getString(1),
                                new com.fasterxml.jackson.core.type.TypeReference<List<Payloads.FrontEntry>>() {}));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("stored front is not JSON", e);
            }
        }
        byVersion.put(version, s);
        return s;
    }

    private static ParetoSelection selectionOf(String version, List<Payloads.FrontEntry> front) {
        return new ParetoSelection(new ModelPromoted(
                "version " + version.substring(0, 12), version, null, "planner", "registered", front));
    }

    /** Runs {@code sql}; returns the rows it changed (0: an upsert whose guard kept newer state). */
    private static int update(Transaction tx, String sql, Object... params) throws SQLException {
        try (PreparedStatement st = tx.connection().prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) st.setObject(i + 1, params[i]);
            return st.executeUpdate();
        }
    }
}
