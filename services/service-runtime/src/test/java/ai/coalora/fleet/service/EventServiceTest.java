package ai.coalora.fleet.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.coalora.fleet.messaging.ServiceRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EventServiceTest {

    /** A service whose startup registers three resources and then fails to open its runtime, as with no broker. */
    static final class Failing extends EventService {
        final List<String> closed = new ArrayList<>();

        @Override
        public String name() {
            return "test";
        }

        @Override
        protected ServiceRuntime open() {
            for (String r : List.of("model", "cache", "scratch")) closeOnStop(() -> closed.add(r));
            closeOnStop(() -> {
                throw new IllegalStateException("a resource that fails to close does not keep the others open");
            });
            throw new IllegalStateException("no broker");
        }
    }

    @Test
    void notReadyUntilStartedAndClosesWhatItOpenedInReverseOrder() {
        Failing s = new Failing();
        assertEquals(Optional.of("starting"), s.problem());
        assertThrows(IllegalStateException.class, () -> s.start(null));
        assertEquals(Optional.of("starting"), s.problem(), "a service whose runtime never opened stays not ready");
        s.stop(null);
        assertEquals(List.of("scratch", "cache", "model"), s.closed);
        s.stop(null);
        assertEquals(3, s.closed.size(), "each resource is closed once");
    }
}
