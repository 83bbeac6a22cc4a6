package ai.coalora.engine.data;

import java.util.ArrayList;
import java.util.List;

/**
 * RFC 4180 CSV: comma-separated fields; a field in double quotes may contain commas, line breaks and
 * doubled quotes ({@code ""}). Records are built from already-decoded lines so each one knows the line
 * it started on. Completely empty lines between records carry no data and are skipped.
 */
final class CsvParser {
    /**
     * One record; {@code line} is where it starts (a quoted field may continue on later lines).
     * {@code malformed} records have already been reported and should not be checked further.
     */
    record Record(long line, List<String> fields, boolean malformed) {}

    private CsvParser() {}

    static List<Record> parse(List<Utf8Lines.Line> lines, Problems problems) {
        List<Record> records = new ArrayList<>();
        int i = 0;
        while (i < lines.size()) {
            Utf8Lines.Line first = lines.get(i);
            if (first.text().isEmpty()) {
                i++;
                continue;
            }
            RecordBuilder builder = new RecordBuilder();
            int used = builder.consume(lines, i);
            if (builder.unterminated) {
                problems.add(first.number(), "unterminated quoted field (missing closing \")");
            } else if (builder.strayAfterQuote >= 0) {
                problems.add(
                        lines.get(builder.strayAfterQuote).number(),
                        "unexpected character after closing quote (a quote inside a quoted field must be doubled: \"\")");
            }
            records.add(
                    new Record(first.number(), builder.fields, builder.unterminated || builder.strayAfterQuote >= 0));
            i += used;
        }
        return records;
    }

    /** Parses one record, possibly spanning lines, character by character. */
    private static final class RecordBuilder {
        final List<String> fields = new ArrayList<>();
        boolean unterminated;
        int strayAfterQuote = -1; // index of the line with text after a closing quote, if any

        /** Returns how many lines the record used. */
        int consume(List<Utf8Lines.Line> lines, int startIndex) {
            StringBuilder field = new StringBuilder();
            boolean quoted = false; // inside a quoted field
            boolean afterQuote = false; // a quoted field just closed; only ',' or end of line may follow
            int index = startIndex;
            String text = lines.get(index).text();
            int pos = 0;
            while (true) {
                if (pos == text.length()) {
                    if (!quoted) break;
                    // A line break inside quotes belongs to the field; RFC 4180 writes it as CRLF, we keep "\n".
                    if (index + 1 == lines.size()) {
                        unterminated = true;
                        break;
                    }
                    field.append('\n');
                    text = lines.get(++index).text();
                    pos = 0;
                    continue;
                }
                char c = text.charAt(pos++);
                if (quoted) {
                    if (c != '"') field.append(c);
                    else if (pos < text.length() && text.charAt(pos) == '"') {
                        field.append('"');
                        pos++;
                    } else {
                        quoted = false;
                        afterQuote = true;
                    }
                } else if (c == ',') {
                    fields.add(field.toString());
                    field.setLength(0);
                    afterQuote = false;
                } else if (afterQuote) {
                    if (strayAfterQuote < 0) strayAfterQuote = index;
                    field.append(c);
                } else if (c == '"' && field.length() == 0) {
                    quoted = true;
                } else {
                    // A quote in the middle of an unquoted field is kept literally (as most CSV readers do).
                    field.append(c);
                }
            }
            fields.add(field.toString());
            return index - startIndex + 1;
        }
    }
}
