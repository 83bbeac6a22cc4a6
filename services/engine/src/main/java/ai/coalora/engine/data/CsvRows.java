package ai.coalora.engine.data;

import java.util.ArrayList;
import java.util.List;

/** Reads {@link RawRow}s from CSV with a header row naming the columns. */
final class CsvRows {
    private CsvRows() {}

    static List<RawRow> read(List<Utf8Lines.Line> lines, DataFileOptions opts, Problems problems) {
        List<CsvParser.Record> records = CsvParser.parse(lines, problems);
        if (records.isEmpty()) {
            problems.addFileProblem("empty file (expected a header row naming the columns)");
            return List.of();
        }
        List<String> header = records.get(0).fields().stream().map(String::trim).toList();
        int text = column(header, opts.textColumn(), "text", problems);
        int label = column(header, opts.labelColumn(), "label", problems);
        int split = opts.splitColumn() == null ? -1 : column(header, opts.splitColumn(), "split", problems);
        if (text < 0 || label < 0 || (opts.splitColumn() != null && split < 0)) return List.of();

        List<RawRow> rows = new ArrayList<>();
        for (CsvParser.Record record : records.subList(1, records.size())) {
            if (record.malformed()) continue; // already reported by the parser
            List<String> f = record.fields();
            if (f.size() != header.size()) {
                problems.add(
                        record.line(), "expected " + header.size() + " fields (as in the header), found " + f.size());
                continue;
            }
            rows.add(new RawRow(record.line(), f.get(text), f.get(label), split < 0 ? null : f.get(split)));
        }
        return rows;
    }

    private static int column(List<String> header, String name, String role, Problems problems) {
        int index = header.indexOf(name);
        if (index < 0) {
            problems.addFileProblem(
                    "missing " + role + " column '" + name + "' (header has: " + String.join(", ", header) + ")");
        } else if (header.lastIndexOf(name) != index) {
            problems.addFileProblem("column '" + name + "' appears more than once in the header");
            return -1;
        }
        return index;
    }
}
