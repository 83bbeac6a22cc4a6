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
    void aServiceThatConsumesOrPublishesOutsideItsRowIsStoppedWithTheDifference() {
        ServiceTopics.check(
                "planner",
                List.of(Topic.CAPABILITIES, Topic.MODEL_ALIASES, Topic.MODEL_VERSIONS, Topic.DEVICE_TARGETS),
                List.of(Topic.ASSIGNMENTS));
        String e = assertThrows(
                        IllegalStateException.class,
                        () -> ServiceTopics.check("planner", List.of(Topic.CAPABILITIES), List.of(Topic.ASSIGNMENTS)))
                .getMessage();
        assertTrue(e.contains("may read"), e);
        e = assertThrows(
                        IllegalStateException.class,
                        () -> ServiceTopics.check(
                                "adapter-generator", List.of(Topic.ASSIGNMENTS), List.of(Topic.DEVICE_TARGETS)))
                .getMessage();
        assertTrue(e.contains("coalora.device.targets registry"), e);
        assertThrows(IllegalStateException.class, () -> ServiceTopics.check("stranger", List.of(), List.of()));
    }
}
