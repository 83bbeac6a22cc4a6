package ai.coalora.planner;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.planning.ParetoSelection;
import ai.coalora.fleet.service.EventService;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** The planner: consumes capabilities and promotions, publishes assignments. */
@ApplicationScoped
public class PlannerService extends EventService {
    @ConfigProperty(name = "coalora.planner.alias")
    String alias;

    private volatile PlanningHandler handler;

    @Override
    public String name() {
        return "planner";
    }

    @Override
    protected ServiceRuntime open() throws Exception {
        handler = new PlanningHandler(alias, loadSelection(), FrontSource.registry(registryClient()), meters);
        return startEvents(handler);
    }

    @Override
    public Map<String, Object> readinessData() {
        return Map.of("decisions", handler == null ? 0 : handler.decisions());
    }

    PlanningHandler handler() {
        return handler;
    }

    String alias() {
        return alias;
    }

    /** The front last promoted to our alias, so a restarted planner decides as before. */
    private ParetoSelection loadSelection() throws Exception {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement("select promoted::text from fronts where alias = ?")) {
            st.setString(1, alias);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next()
                        ? new ParetoSelection(
                                Payloads.read(Payloads.JSON.readTree(rs.getString(1)), ModelPromoted.class))
                        : null;
            }
        }
    }
}
