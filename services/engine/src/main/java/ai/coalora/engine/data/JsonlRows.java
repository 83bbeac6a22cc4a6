package ai.coalora.engine.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/** Reads {@link RawRow}s from JSON Lines: one JSON object per line; blank lines are ignored. */
final class JsonlRows {
    // Trailing tokens would mean two objects (or garbage) on one line: malformed, not silently ignored.
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private JsonlRows() {}

    static List<RawRow> read(List<Utf8Lines.Line> lines, DataFileOptions opts, Problems problems) {
        List<RawRow> rows = new ArrayList<>();
        boolean anyContent = false;
        for (Utf8Lines.Line line : lines) {
            if (line.text().isBlank()) continue;
            anyContent = true;
            JsonNode node;
            try {
                node = JSON.readTree(line.text());
            } catch (JsonProcessingException e) {
                problems.add(line.number(), "malformed JSON (" + brief(e) + ")");
                continue;
            }
            if (node == null || !node.isObject()) {
                problems.add(line.number(), "expected a JSON object, found " + describe(node));
                continue;
            }
            int before = problems.size();
            String text = textField(node, opts.textColumn(), line.number(), problems);
            String label = labelField(node, opts.labelColumn(), line.number(), problems);
            String split =
                    opts.splitColumn() == null ? null : textField(node, opts.splitColumn(), line.number(), problems);
            if (problems.size() > before) continue; // a field of the wrong type, already reported
            rows.add(new RawRow(line.number(), text, label, split));
        }
        if (!anyContent) problems.addFileProblem("empty file (expected one JSON object per line)");
        return rows;
    }

    /** A string field; absent or null gives null (reported later as missing), other types are reported here. */
    private static String textField(JsonNode object, String name, long line, Problems problems) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) return null;
        if (value.isTextual()) return value.textValue();
        problems.add(line, "field '" + name + "' must be a string, found " + describe(value));
        return null;
    }

    /** Labels may be strings or numbers; numbers are used as their text ({@code 1} becomes "1"). */
    private static String labelField(JsonNode object, String name, long line, Problems problems) {
        JsonNode value = object.get(name);
        if (value == null || value.isNull()) return null;
        if (value.isTextual() || value.isNumber()) return value.asText();
        problems.add(line, "field '" + name + "' must be a string or a number, found " + describe(value));
        return null;
    }

    /** Jackson's message without its source-location details (the line number is already given). */
    private static String brief(JsonProcessingException e) {
        String message = e.getOriginalMessage().replaceAll("\\s*\\(start marker at \\[Source:.*", "");
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private static String describe(JsonNode node) {
        return node == null || node.isMissingNode()
                ? "nothing"
                : node.getNodeType().toString().toLowerCase();
    }
}
