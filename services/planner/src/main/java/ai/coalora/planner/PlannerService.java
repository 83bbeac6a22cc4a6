package ai.coalora.planner;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.planning.ParetoSelection;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Starts the planner: consumes capabilities and promotions, publishes assignments. */
@ApplicationScoped
public class PlannerService {
    @ConfigProperty(name = "coalora.kafka.bootstrap-servers") String bootstrapServers;
    @ConfigProperty(name = "coalora.planner.alias") String alias;
    final AgroalDataSource dataSource;
    final MeterRegistry meters;
    ServiceRuntime runtime;
    PlanningHandler handler;

    PlannerService(AgroalDataSource dataSource, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.meters = meters;
    }

    void start(@Observes StartupEvent ignored) throws Exception {
        handler = new PlanningHandler(alias, loadSelection(), meters);
        runtime = ServiceRuntime.start("coalora-planner", bootstrapServers, dataSource,
                List.of(Topic.CAPABILITIES, Topic.MODEL_ALIASES, Topic.MODEL_VERSIONS, Topic.DEVICE_TARGETS), List.of(Topic.ASSIGNMENTS), handler, meters);
    }

    // accessors, not fields: callers hold a CDI client proxy, whose own fields are never set
    ServiceRuntime runtime() { return runtime; }

    PlanningHandler handler() { return handler; }

    String alias() { return alias; }

    void stop(@Observes ShutdownEvent ignored) {
        if (runtime != null) runtime.close();
    }

    /** The front last promoted to our alias, so a restarted planner decides as before. */
    private ParetoSelection loadSelection() throws Exception {
        try (Connection c = dataSource.getConnection();
             PreparedStatement st = c.prepareStatement("select promoted::text from fronts where alias = ?")) {
            st.setString(1, alias);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? new ParetoSelection(Payloads.read(Payloads.JSON.readTree(rs.getString(1)), ModelPromoted.class)) : null;
            }
        }
    }
}
