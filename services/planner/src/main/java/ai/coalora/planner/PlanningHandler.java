package ai.coalora.planner;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.EventHandler;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.planning.ParetoSelection;
import ai.coalora.fleet.planning.ParetoSelection.Decision;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Plans devices: a capabilities event (re)plans that device, a promotion of the followed alias re-plans
 * every device. An assignment is published only when the decision changes (a device re-announcing the same
 * capabilities is not sent a second one); before any version is promoted devices wait, recorded.
 */
public final class PlanningHandler implements EventHandler {
    static final String SOURCE = "/coalora/planner";

    private final String alias;
    private final AtomicLong decisions = new AtomicLong();
    // the selection for the current front; rebuilt from the fronts table on start and on promotion
    private volatile ParetoSelection selection;

    public PlanningHandler(String alias, ParetoSelection initial) {
        this.alias = alias;
        this.selection = initial;
    }

    public long decisions() { return decisions.get(); }

    public ParetoSelection selection() { return selection; }

    @Override
    public void apply(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException {
        switch (event.type()) {
            case EventTypes.CAPABILITIES -> onCapabilities(event, tx);
            case EventTypes.MODEL_PROMOTED -> onPromoted(Payloads.read(event.data(), ModelPromoted.class), tx);
            default -> throw new RejectedEvent("planner does not handle " + event.type());
        }
    }

    private void onCapabilities(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException {
        DeviceCapabilities caps = Payloads.read(event.data(), DeviceCapabilities.class);
        if (event.subject() != null && !event.subject().equals(caps.deviceId())) {
            throw new RejectedEvent("subject '" + event.subject() + "' differs from data.deviceId '" + caps.deviceId() + "'");
        }
        try (PreparedStatement st = tx.connection().prepareStatement(
                "insert into devices (device_id, capabilities, capabilities_event_id) values (?, ?::jsonb, ?) "
                        + "on conflict (device_id) do update set capabilities = excluded.capabilities, "
                        + "capabilities_event_id = excluded.capabilities_event_id, updated_at = now()")) {
            st.setString(1, caps.deviceId());
            st.setString(2, event.data().toString());
            st.setString(3, event.id());
            st.executeUpdate();
        }
        plan(tx, caps, event.id());
    }

    private void onPromoted(ModelPromoted promoted, Transaction tx) throws SQLException {
        if (!alias.equals(promoted.alias())) return; // e.g. a canary: rollouts (not the planner) ship those
        try (PreparedStatement st = tx.connection().prepareStatement(
                "insert into fronts (alias, model_version, promoted) values (?, ?, ?::jsonb) on conflict (alias) do update "
                        + "set model_version = excluded.model_version, promoted = excluded.promoted, updated_at = now()")) {
            st.setString(1, promoted.alias());
            st.setString(2, promoted.modelVersion());
            st.setString(3, Payloads.toJson(promoted).toString());
            st.executeUpdate();
        }
        selection = new ParetoSelection(promoted);
        // re-plan the whole fleet against the new front
        try (PreparedStatement st = tx.connection().prepareStatement("select capabilities::text, capabilities_event_id from devices order by device_id");
             ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                DeviceCapabilities caps = Payloads.read(Payloads.JSON.readTree(rs.getString(1)), DeviceCapabilities.class);
                plan(tx, caps, rs.getString(2));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("stored capabilities are not JSON", e);
        }
    }

    /** Decides for one device and publishes an assignment if the decision differs from the one it holds. */
    private void plan(Transaction tx, DeviceCapabilities caps, String capabilitiesEventId) throws SQLException {
        ParetoSelection s = selection;
        if (s == null) return; // no version promoted yet: the device waits (its row says so)
        Decision d = s.decide(caps);
        decisions.incrementAndGet();
        Connection c = tx.connection();
        try (PreparedStatement st = c.prepareStatement("select feasible, model_version, config_id, runtime_format from devices where device_id = ?")) {
            st.setString(1, caps.deviceId());
            try (ResultSet rs = st.executeQuery()) {
                if (rs.next() && rs.getObject(1) != null && rs.getBoolean(1) == d.feasible()
                        && Objects.equals(rs.getString(2), s.modelVersion())
                        && Objects.equals(rs.getString(3), d.feasible() ? d.choice().configId() : null)
                        && Objects.equals(rs.getString(4), d.runtimeFormat())) {
                    return; // same decision as before: nothing new to send
                }
            }
        }
        String assignmentId = UUID.nameUUIDFromBytes((caps.deviceId() + "|" + capabilitiesEventId + "|" + s.modelVersion())
                .getBytes(StandardCharsets.UTF_8)).toString();
        Assignment a = d.feasible()
                ? new Assignment(caps.deviceId(), assignmentId, capabilitiesEventId, true, d.reason(), s.modelVersion(), s.alias(),
                        d.choice().configId(), d.choice().averageBits(), d.choice().predictedAccuracy(), d.runtimeFormat(), d.footprint())
                : new Assignment(caps.deviceId(), assignmentId, capabilitiesEventId, false, d.reason(), s.modelVersion(), s.alias(),
                        null, null, null, null, null);
        try (PreparedStatement st = c.prepareStatement("update devices set feasible = ?, model_version = ?, config_id = ?, runtime_format = ?, "
                + "assignment_id = ?, reason = ?, updated_at = now() where device_id = ?")) {
            st.setBoolean(1, d.feasible());
            st.setString(2, s.modelVersion());
            st.setString(3, a.configId());
            st.setString(4, a.runtimeFormat());
            st.setString(5, assignmentId);
            st.setString(6, d.reason());
            st.setString(7, caps.deviceId());
            st.executeUpdate();
        }
        tx.publish(Topic.ASSIGNMENTS, caps.deviceId(), CloudEvent.withId(assignmentId, SOURCE, EventTypes.ASSIGNMENT, caps.deviceId(),
                ServiceRuntime.schemas().dataschema(EventTypes.ASSIGNMENT), Payloads.toJson(a)));
    }
}
