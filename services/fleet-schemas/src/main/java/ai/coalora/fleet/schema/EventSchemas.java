package ai.coalora.fleet.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.path.NodePath;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The fleet's event schemas (JSON Schema draft 2020-12, {@code schemas/*.schema.json} on the classpath) and their
 * validator.
 *
 * <p>Each schema is read and compiled once, in {@link #load()}; an instance is immutable and safe to share between
 * threads (one per JVM is enough: {@code load()} returns the same one every time). Validation allocates only its own
 * per-call state.
 *
 * <p>Problems are readable strings {@code "field: message"}, the field written as a path from the validated object
 * ({@code memoryBytes}, {@code footprint.totalBytes}, {@code weightBits[1]}; {@code $} is the object itself; in
 * {@link #validateEnvelope} the payload's fields are under {@code data.}). An empty list means valid.
 *
 * <p>Every schema has {@code additionalProperties: true}: properties this version does not know are accepted, so an
 * older consumer keeps working when a newer producer adds optional properties (see {@code schemas/README.md}).
 */
public final class EventSchemas {

    /** Data schemas, one per event type; the file is {@code schemas/<type>.schema.json}. */
    static final List<String> TYPES = List.of(
            "ai.coalora.device.capabilities",
            "ai.coalora.assignment",
            "ai.coalora.adapter.ready",
            "ai.coalora.telemetry.evaluation",
            "ai.coalora.model.registered",
            "ai.coalora.model.promoted",
            "ai.coalora.retraining.requested",
            "ai.coalora.device.status",
            "ai.coalora.device.target");

    /** The CloudEvents structured-mode envelope schema's file name. */
    static final String ENVELOPE = "cloudevent";

    static final String RESOURCE_DIR = "schemas/";

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static volatile EventSchemas instance;

    private final Map<String, Compiled> byType;
    private final Compiled envelope;
    private final Set<String> types;

    private record Compiled(String id, JsonNode node, Schema schema) {}

    private EventSchemas(Map<String, Compiled> byType, Compiled envelope) {
        this.byType = byType;
        this.envelope = envelope;
        this.types = Collections.unmodifiableSet(new LinkedHashSet<>(byType.keySet()));
    }

    /**
     * Reads and compiles the envelope schema and the data schema of every event type from the classpath
     * ({@code schemas/<type>.schema.json}). Fails fast, naming the file, if one is missing or unreadable.
     * Returns the same (immutable, thread-safe) instance on every call.
     *
     * @throws IllegalStateException naming the missing or broken schema file
     */
    public static EventSchemas load() {
        EventSchemas loaded = instance;
        if (loaded == null) {
            synchronized (EventSchemas.class) {
                loaded = instance;
                if (loaded == null) {
                    loaded = compile();
                    instance = loaded;
                }
            }
        }
        return loaded;
    }

    /** The known event types, in a fixed order. */
    public Set<String> types() {
        return types;
    }

    /** Whether {@code type} is a known event type. */
    public boolean knows(String type) {
        return type != null && byType.containsKey(type);
    }

    /**
     * The data schema URI of an event type (its schema's {@code $id}), for the CloudEvents {@code dataschema}
     * attribute, e.g. {@code https://schemas.coalora.ai/ai.coalora.device.capabilities.schema.json}.
     *
     * @throws IllegalArgumentException for an unknown type
     */
    public String dataschema(String type) {
        Compiled compiled = type == null ? null : byType.get(type);
        if (compiled == null) {
            throw new IllegalArgumentException(unknownType(type));
        }
        return compiled.id();
    }

    /**
     * Validates an event payload (the CloudEvent's {@code data}) against the schema of its type.
     *
     * @return the problems, each {@code "field: message"}; empty when valid; one problem
     *         {@code "unknown event type 'x'"} for an unknown type
     */
    public List<String> validate(String type, JsonNode data) {
        Compiled compiled = type == null ? null : byType.get(type);
        if (compiled == null) {
            return List.of(unknownType(type));
        }
        if (data == null || data.isMissingNode()) {
            return List.of("$: data is missing");
        }
        return problems(compiled, data, "");
    }

    /**
     * Validates a structured-mode CloudEvent: the envelope against {@code cloudevent.schema.json}, then its
     * {@code data} against the schema of its {@code type} (problems in the payload are named {@code data.<field>}).
     * Beyond the schemas: {@code data} is required (every fleet event has a payload), the type must be known, and a
     * {@code dataschema}, when present, must be the type's schema URI.
     *
     * @return the problems, each {@code "field: message"}; empty when valid
     */
    public List<String> validateEnvelope(JsonNode structuredEvent) {
        if (structuredEvent == null || !structuredEvent.isObject()) {
            return List.of("$: a structured-mode CloudEvent is a JSON object, found "
                    + (structuredEvent == null || structuredEvent.isMissingNode()
                            ? "nothing"
                            : structuredEvent.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        List<String> problems = new ArrayList<>(problems(envelope, structuredEvent, ""));
        JsonNode typeNode = structuredEvent.get("type");
        if (typeNode == null || !typeNode.isTextual()) {
            return problems; // the envelope schema already said so
        }
        String type = typeNode.asText();
        Compiled compiled = byType.get(type);
        if (compiled == null) {
            problems.add("type: " + unknownType(type));
            return problems;
        }
        JsonNode dataschema = structuredEvent.get("dataschema");
        if (dataschema != null && dataschema.isTextual() && !dataschema.asText().equals(compiled.id())) {
            problems.add("dataschema: '" + dataschema.asText() + "' is not the schema of type '" + type + "' ("
                    + compiled.id() + ")");
        }
        JsonNode data = structuredEvent.get("data");
        if (data == null || data.isNull()) {
            problems.add("data: is required (the payload of a " + type + " event)");
        } else if (data.isObject()) {
            problems.addAll(problems(compiled, data, "data"));
        } // else: the envelope schema already reported that data is not an object
        return problems;
    }

    // ---------------------------------------------------------------------------------------------------------

    private static String unknownType(String type) {
        return "unknown event type '" + type + "'";
    }

    /** Reads and compiles every schema anew (what {@link #load()} does once). */
    static EventSchemas compile() {
        SchemaRegistryConfig config = SchemaRegistryConfig.builder()
                .formatAssertionsEnabled(true) // date-time, uri, uri-reference are checked, not just annotations
                .locale(Locale.ENGLISH) // messages independent of the machine's locale
                .preloadSchema(true)
                .cacheRefs(true)
                .build();
        // Only draft 2020-12; nothing is ever fetched from the network (2.x fetches no remote resources by default).
        SchemaRegistry registry =
                SchemaRegistry.withDialect(Dialects.getDraft202012(), builder -> builder.schemaRegistryConfig(config));
        Map<String, Compiled> byType = new LinkedHashMap<>();
        for (String type : TYPES) {
            byType.put(type, compile(registry, type));
        }
        return new EventSchemas(Collections.unmodifiableMap(byType), compile(registry, ENVELOPE));
    }

    private static Compiled compile(SchemaRegistry registry, String name) {
        String resource = RESOURCE_DIR + name + ".schema.json";
        JsonNode node = readResource(resource);
        JsonNode id = node.get("$id");
        if (id == null || !id.isTextual()) {
            throw new IllegalStateException("schema " + resource + " has no $id");
        }
        try {
            Schema schema = registry.getSchema(SchemaLocation.of(id.asText()), node);
            schema.initializeValidators(); // compile everything now: no lazy work (or races) on first use
            return new Compiled(id.asText(), node, schema);
        } catch (RuntimeException e) {
            throw new IllegalStateException("schema " + resource + " does not compile: " + e.getMessage(), e);
        }
    }

    static JsonNode readResource(String resource) {
        ClassLoader loader = EventSchemas.class.getClassLoader();
        InputStream in = loader == null ? null : loader.getResourceAsStream(resource);
        if (in == null && Thread.currentThread().getContextClassLoader() != null) {
            in = Thread.currentThread().getContextClassLoader().getResourceAsStream(resource);
        }
        if (in == null) {
            throw new IllegalStateException("schema file " + resource + " is missing from the classpath");
        }
        try (InputStream stream = in) {
            return MAPPER.readTree(stream);
        } catch (IOException e) {
            throw new UncheckedIOException("schema file " + resource + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** The schema document of a type, or of the envelope ({@code "cloudevent"}); for tests. */
    JsonNode schemaNode(String name) {
        if (ENVELOPE.equals(name)) {
            return envelope.node();
        }
        Compiled compiled = byType.get(name);
        return compiled == null ? null : compiled.node();
    }

    private static List<String> problems(Compiled compiled, JsonNode instance, String root) {
        List<Error> errors = compiled.schema().validate(instance);
        if (errors.isEmpty()) {
            return List.of();
        }
        List<String> out = new ArrayList<>(errors.size());
        for (Error error : errors) {
            out.add(describe(compiled.node(), error, root));
        }
        return out;
    }

    private static String describe(JsonNode schemaRoot, Error error, String root) {
        StringBuilder field = new StringBuilder(root);
        appendPath(field, error.getInstanceLocation());
        if ("required".equals(error.getKeyword()) && error.getProperty() != null) {
            appendName(field, error.getProperty());
            String condition = conditionOf(schemaRoot, error);
            return (field.length() == 0 ? "$" : field) + ": is required"
                    + (condition == null ? "" : " when " + condition);
        }
        return (field.length() == 0 ? "$" : field) + ": " + error.getMessage();
    }

    /** For a {@code required} inside a {@code then}: the description of the matching {@code if}, if it has one. */
    private static String conditionOf(JsonNode schemaRoot, Error error) {
        SchemaLocation location = error.getSchemaLocation();
        NodePath fragment = location == null ? null : location.getFragment();
        if (fragment == null
                || fragment.getNameCount() < 2
                || !"then".equals(String.valueOf(fragment.getElement(fragment.getNameCount() - 2)))) {
            return null;
        }
        JsonNode node = schemaRoot;
        for (int i = 0; i < fragment.getNameCount() - 2 && node != null; i++) {
            Object element = fragment.getElement(i);
            node = element instanceof Integer index ? node.get(index) : node.get(String.valueOf(element));
        }
        JsonNode description = node == null ? null : node.path("if").get("description");
        return description != null && description.isTextual() ? description.asText() : null;
    }

    private static void appendPath(StringBuilder out, NodePath path) {
        if (path == null) {
            return;
        }
        for (int i = 0; i < path.getNameCount(); i++) {
            Object element = path.getElement(i);
            if (element instanceof Integer index) {
                out.append('[').append(index).append(']');
            } else {
                appendName(out, String.valueOf(element));
            }
        }
    }

    private static void appendName(StringBuilder out, String name) {
        if (out.length() > 0) {
            out.append('.');
        }
        out.append(name);
    }
}
