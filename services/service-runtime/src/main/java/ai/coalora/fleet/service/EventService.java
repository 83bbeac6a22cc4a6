package ai.coalora.fleet.service;

import ai.coalora.fleet.messaging.ServiceRuntime;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle every event-driven service shares: at startup it opens what the service needs and then its event
 * runtime (consumer and outbox relay); at shutdown it closes the runtime first, then the rest in reverse order.
 * A service is one application-scoped subclass; {@link EventsReadiness} reports on it.
 */
public abstract class EventService {
    private static final Logger LOG = LoggerFactory.getLogger(EventService.class);

    private final Deque<AutoCloseable> resources = new ArrayDeque<>();
    private volatile ServiceRuntime runtime;

    /** The service's short name ("planner"): its readiness check is {@code <name>-events}. */
    public abstract String name();

    /** Opens the service's event runtime; what it needs besides goes through {@link #closeOnStop}. */
    protected abstract ServiceRuntime open() throws Exception;

    /** Counters the readiness check shows next to the problem, if any. */
    public Map<String, Object> readinessData() {
        return Map.of();
    }

    /** Registers {@code resource} to be closed at shutdown, after the runtime, in reverse order of registration. */
    protected final <T extends AutoCloseable> T closeOnStop(T resource) {
        synchronized (resources) {
            resources.push(resource);
        }
        return resource;
    }

    // public: the container calls the observers from generated code in the subclass's package
    public void start(@Observes StartupEvent ignored) throws Exception {
        runtime = open();
    }

    public void stop(@Observes ShutdownEvent ignored) {
        ServiceRuntime r = runtime;
        if (r != null) r.close();
        synchronized (resources) {
            while (!resources.isEmpty()) {
                AutoCloseable c = resources.pop();
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("{}: closing {} failed", name(), c, e);
                }
            }
        }
    }

    // accessors, not fields: callers hold a CDI client proxy, whose own fields are never set

    /** The event runtime; null until startup opened it. */
    public ServiceRuntime runtime() {
        return runtime;
    }

    /** What keeps the service from doing its work right now, if anything. */
    public Optional<String> problem() {
        ServiceRuntime r = runtime;
        return r == null ? Optional.of("starting") : r.problem();
    }
}
