package ai.coalora.fleet.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ServiceTopicsTest {

    @Test
    void everyTopicHasExactlyOneOwnerAndEveryDeadLetterTopicExactlyOneWriterPerReader() {
        for (Topic t : Topic.ALL) {
            long owners =
                    ServiceTopics.ALL.stream().filter(s -> s.owns().contains(t)).count();
            assertEquals(1, owners, t.name() + " owners");
            // its dead letters are written by its readers only
            for (ServiceTopics s : ServiceTopics.ALL)
                assertEquals(s.reads().contains(t), s.writes().contains(t.deadLetter()), s.service() + " " + t.name());
        }
        Set<String> services = new HashSet<>();
        for (ServiceTopics s : ServiceTopics.ALL) {
            assertTrue(services.add(s.service()), "one row per service");
            assertEquals("coalora-" + s.service(), s.group());
        }
        assertEquals(2 * Topic.ALL.size(), ServiceTopics.allTopics().size());
    }

    @Test
    void aServiceWithoutARowIsStoppedAtStartup() {
        assertEquals(
                List.of(Topic.ASSIGNMENTS), ServiceTopics.require("planner").owns());
        String e = assertThrows(IllegalStateException.class, () -> ServiceTopics.require("stranger"))
                .getMessage();
        assertTrue(e.contains("no row"), e);
    }
}
