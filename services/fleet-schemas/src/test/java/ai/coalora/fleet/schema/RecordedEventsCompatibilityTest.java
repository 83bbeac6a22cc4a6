package ai.coalora.fleet.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backward-compatibility proof: every event an older producer wrote (schemas/recorded/&lt;type&gt;/*.json, never
 * edited, only added to) still validates, envelope and data, against the current schemas. A change that removes or
 * retypes a property, adds a required one or narrows an enum breaks one of these.
 */
class RecordedEventsCompatibilityTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final EventSchemas SCHEMAS = EventSchemas.load();

    static Stream<String> recordedEvents() throws IOException {
        Path root = SchemaFiles.recorded();
        try (Stream<Path> files = Files.walk(root)) {
            List<String> all = files.filter(Files::isRegularFile)
                    .map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .sorted()
                    .collect(Collectors.toList());
            return all.stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("recordedEvents")
    void recordedEventStillValidates(String relative) throws IOException {
        Path file = SchemaFiles.recorded().resolve(relative);
        assertTrue(relative.endsWith(".json"), "recorded events are .json files: " + relative);
        String directoryType = file.getParent().getFileName().toString();
        assertEquals(
                SchemaFiles.recorded(),
                file.getParent().getParent(),
                "recorded events live at schemas/recorded/<type>/<name>.json: " + relative);
        assertTrue(
                SCHEMAS.knows(directoryType),
                "recorded events of type '" + directoryType
                        + "' exist but the type is gone: a removed type breaks old events");

        JsonNode event = MAPPER.readTree(file.toFile());
        assertEquals(
                directoryType, event.path("type").asText(), "the event's type is its directory's name: " + relative);
        assertEquals(List.of(), SCHEMAS.validateEnvelope(event), relative + " no longer validates");
        assertEquals(
                List.of(), SCHEMAS.validate(directoryType, event.get("data")), relative + " data no longer validates");
    }

    @Test
    void everyTypeHasRecordedEvents() throws IOException {
        Map<String, Long> counts = new TreeMap<>();
        for (String type : SCHEMAS.types()) {
            Path dir = SchemaFiles.recorded().resolve(type);
            long n = 0;
            if (Files.isDirectory(dir)) {
                try (Stream<Path> files = Files.list(dir)) {
                    n = files.filter(p -> p.toString().endsWith(".json")).count();
                }
            }
            counts.put(type, n);
        }
        counts.forEach(
                (type, n) -> assertTrue(n >= 1, "no recorded event of type " + type + " in schemas/recorded/" + type));
    }

    @Test
    void theCorpusIsOnTheClasspathToo() {
        // The jar ships the corpus (fixtures for the services' tests); it is the same files as the source tree.
        assertFalse(EventSchemas.readResource("schemas/recorded/ai.coalora.device.capabilities/2025-11-full.json")
                .isMissingNode());
    }
}
