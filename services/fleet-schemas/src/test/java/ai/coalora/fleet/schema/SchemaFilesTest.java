package ai.coalora.fleet.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.DialectId;
import com.networknt.schema.dialect.Dialects;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The schema files themselves: valid draft 2020-12, self-describing, tolerant of additions, found by the loader. */
class SchemaFilesTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";

    static Stream<String> schemaFiles() throws IOException {
        try (Stream<Path> files = Files.list(SchemaFiles.dir())) {
            return files
                    .map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".schema.json"))
                    .sorted()
                    .collect(Collectors.toList())
                    .stream();
        }
    }

    @Test
    void theFilesAreExactlyTheEnvelopeAndTheKnownTypes() throws IOException {
        Set<String> expected = new TreeSet<>();
        expected.add(EventSchemas.ENVELOPE + ".schema.json");
        EventSchemas.load().types().forEach(t -> expected.add(t + ".schema.json"));
        assertEquals(
                expected,
                schemaFiles().collect(Collectors.toCollection(TreeSet::new)),
                "every schemas/*.schema.json must be loaded by EventSchemas (add a new type to EventSchemas.TYPES)");
        assertEquals(9, EventSchemas.load().types().size());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("schemaFiles")
    void isAValidDraft202012Schema(String name) throws IOException {
        JsonNode node = MAPPER.readTree(SchemaFiles.dir().resolve(name).toFile());
        assertEquals(DRAFT_2020_12, node.path("$schema").asText(), name + " declares draft 2020-12");
        SchemaRegistry registry = SchemaRegistry.withDialect(Dialects.getDraft202012());
        Schema metaSchema = registry.getSchema(SchemaLocation.of(DialectId.DRAFT_2020_12));
        List<Error> errors = metaSchema.validate(node);
        assertEquals(
                List.of(),
                errors.stream().map(Error::toString).collect(Collectors.toList()),
                name + " is not a valid draft 2020-12 schema");
        // and it compiles (unknown keywords or broken patterns would fail here)
        registry.getSchema(SchemaLocation.of(node.path("$id").asText()), node).initializeValidators();
    }

    /**
     * Every number is bounded: a schema-valid value must fit the consumers' types (a long, an int for counts) and sums
     * of a few of them must not overflow, or a valid event would fail in the handler instead of at the schema.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("schemaFiles")
    void boundsEveryNumber(String name) throws IOException {
        List<String> unbounded = new ArrayList<>();
        collectUnbounded(MAPPER.readTree(SchemaFiles.dir().resolve(name).toFile()), "", unbounded);
        assertEquals(List.of(), unbounded, name + ": numbers without a maximum (or an enum)");
    }

    private static void collectUnbounded(JsonNode node, String path, List<String> out) {
        if (node.isObject()) {
            JsonNode type = node.path("type");
            boolean numeric = type.isTextual()
                    && (type.asText().equals("integer") || type.asText().equals("number"));
            if (type.isArray()) {
                for (JsonNode t : type)
                    numeric |= t.asText().equals("integer") || t.asText().equals("number");
            }
            boolean bounded = node.has("maximum") || node.has("exclusiveMaximum") || node.has("enum");
            if (numeric && !bounded) out.add(path.isEmpty() ? "/" : path);
            node.fields().forEachRemaining(e -> collectUnbounded(e.getValue(), path + "/" + e.getKey(), out));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) collectUnbounded(node.get(i), path + "/" + i, out);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("schemaFiles")
    void isSelfDescribingAndTolerant(String name) throws IOException {
        JsonNode node = MAPPER.readTree(SchemaFiles.dir().resolve(name).toFile());
        String base = name.substring(0, name.length() - ".schema.json".length());
        assertEquals("https://schemas.coalora.ai/" + name, node.path("$id").asText(), name + " $id");
        assertTrue(
                node.path("title").isTextual() && !node.path("title").asText().isBlank(), name + " has a title");
        assertTrue(
                node.path("description").isTextual()
                        && !node.path("description").asText().isBlank(),
                name + " has a description");
        assertEquals("object", node.path("type").asText(), name + " describes an object");
        assertTrue(
                node.path("additionalProperties").isBoolean()
                        && node.path("additionalProperties").asBoolean(),
                name + ": additionalProperties must be true (consumers tolerate fields added by newer producers)");
        if (!base.equals(EventSchemas.ENVELOPE)) {
            assertEquals(node.path("$id").asText(), EventSchemas.load().dataschema(base));
            assertEquals(node, EventSchemas.load().schemaNode(base), name + ": the classpath copy is this file");
        }

        List<String> undescribed = new ArrayList<>();
        collectUndescribed(node, "", undescribed);
        assertEquals(List.of(), undescribed, name + ": every property needs a description");
    }

    @Test
    void theChecksThemselvesBite() throws IOException {
        // the meta-schema check is not vacuous
        Schema metaSchema = SchemaRegistry.withDialect(Dialects.getDraft202012())
                .getSchema(SchemaLocation.of(DialectId.DRAFT_2020_12));
        JsonNode broken = MAPPER.readTree(
                "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"strin\", \"minimum\": \"x\"}}, \"required\": \"a\"}");
        assertTrue(
                metaSchema.validate(broken).size() >= 3,
                metaSchema.validate(broken).toString());
        // nor is the description walk
        JsonNode undescribed = MAPPER.readTree(
                "{\"properties\": {\"a\": {\"description\": \"ok\", \"items\": {\"properties\": {\"b\": {}}}}},"
                        + " \"then\": {\"properties\": {\"c\": {\"type\": \"string\"}}}}");
        List<String> out = new ArrayList<>();
        collectUndescribed(undescribed, "", out);
        assertEquals(List.of("/properties/a/items/properties/b", "/then/properties/c"), out);
    }

    /** Every schema under any "properties" (at any depth: items, if/then, $defs, ...) must carry a description. */
    private static void collectUndescribed(JsonNode node, String path, List<String> out) {
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collectUndescribed(node.get(i), path + "/" + i, out);
            }
            return;
        }
        if (!node.isObject()) {
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String here = path + "/" + entry.getKey();
            if (entry.getKey().equals("properties") && entry.getValue().isObject()) {
                for (Iterator<Map.Entry<String, JsonNode>> props =
                                entry.getValue().fields();
                        props.hasNext(); ) {
                    Map.Entry<String, JsonNode> prop = props.next();
                    JsonNode description = prop.getValue().get("description");
                    if (description == null
                            || !description.isTextual()
                            || description.asText().isBlank()) {
                        out.add(here + "/" + prop.getKey());
                    }
                    collectUndescribed(prop.getValue(), here + "/" + prop.getKey(), out);
                }
            } else if (!entry.getKey().equals("examples")
                    && !entry.getKey().equals("default")
                    && !entry.getKey().equals("const")
                    && !entry.getKey().equals("enum")) {
                collectUndescribed(entry.getValue(), here, out);
            }
        }
    }
}
