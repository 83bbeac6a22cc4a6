package ai.coalora.engine.data;

import ai.coalora.common.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/** Turns a user's CSV / JSON Lines file into a {@link TaskData}, reporting every bad row at once. */
final class UserDataFile {
    private static final List<String> SPLITS = List.of("train", "validation", "test");

    private UserDataFile() {}

    static TaskData load(DataFileOptions opts) {
        Path file = opts.file();
        Format format = Format.of(file);
        byte[] bytes = readBytes(file);
        Problems problems = new Problems(file.toString());

        List<Utf8Lines.Line> lines = Utf8Lines.decode(bytes, problems);
        List<RawRow> rows =
                format == Format.CSV ? CsvRows.read(lines, opts, problems) : JsonlRows.read(lines, opts, problems);

        List<String> labels = opts.labels() != null ? checkedLabels(opts.labels()) : labelsFound(rows, problems);
        Map<String, Integer> labelIndex = new HashMap<>();
        for (int i = 0; i < labels.size(); i++) labelIndex.put(labels.get(i), i);

        Map<String, List<Example>> bySplit = new HashMap<>();
        List<Example> all = new ArrayList<>();
        for (RawRow row : rows) {
            Example example = toExample(row, labelIndex, labels, problems);
            if (example == null) continue;
            if (opts.splitColumn() == null) {
                all.add(example);
                continue;
            }
            String split = row.split() == null ? "" : row.split().trim();
            if (!SPLITS.contains(split)) {
                problems.add(
                        row.line(),
                        split.isEmpty()
                                ? "missing split (column '" + opts.splitColumn() + "')"
                                : "unknown split '" + split + "' (expected train, validation or test)");
                continue;
            }
            bySplit.computeIfAbsent(split, k -> new ArrayList<>()).add(example);
        }
        if (problems.size() == 0 && rows.isEmpty()) problems.addFileProblem("no data rows");
        if (problems.size() == 0 && opts.splitColumn() != null && !bySplit.containsKey("train")) {
            problems.addFileProblem("no rows in the train split (column '" + opts.splitColumn() + "')");
        }
        problems.throwIfAny();

        String name = baseName(file);
        String sha = Sha256.of(bytes);
        if (opts.splitColumn() != null) {
            return new TaskData(
                    name,
                    labels,
                    bySplit.getOrDefault("train", List.of()),
                    bySplit.getOrDefault("validation", List.of()),
                    bySplit.getOrDefault("test", List.of()),
                    sha);
        }
        Splits.Split split = Splits.split(all, opts.seed()); // file order is the deterministic order
        return new TaskData(name, labels, split.train(), split.validation(), split.test(), sha);
    }

    private enum Format {
        CSV,
        JSONL;

        static Format of(Path file) {
            String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".csv")) return CSV;
            if (name.endsWith(".jsonl") || name.endsWith(".json")) return JSONL;
            throw new IllegalArgumentException("unsupported data file " + file
                    + ": expected .csv (with a header row) or .jsonl/.json (one JSON object per line)");
        }
    }

    private static Example toExample(
            RawRow row, Map<String, Integer> labelIndex, List<String> labels, Problems problems) {
        boolean ok = true;
        if (row.text() == null || row.text().isBlank()) {
            problems.add(row.line(), "missing or blank text");
            ok = false;
        }
        String label = row.label() == null ? "" : row.label().trim();
        Integer index = labelIndex.get(label);
        if (label.isEmpty()) {
            problems.add(row.line(), "missing label");
            ok = false;
        } else if (index == null) {
            problems.add(
                    row.line(), "unknown label '" + label + "' (expected one of: " + String.join(", ", labels) + ")");
            ok = false;
        }
        return ok ? new Example(row.text(), index) : null;
    }

    private static List<String> checkedLabels(List<String> labels) {
        List<String> trimmed = labels.stream().map(String::trim).toList();
        if (trimmed.size() < 2) throw new IllegalArgumentException("need at least 2 labels, got " + labels);
        if (new TreeSet<>(trimmed).size() != trimmed.size() || trimmed.contains("")) {
            throw new IllegalArgumentException("labels must be distinct and non-blank, got " + labels);
        }
        return trimmed;
    }

    /** The sorted distinct labels in the file (string order: "10" sorts before "2"). */
    private static List<String> labelsFound(List<RawRow> rows, Problems problems) {
        TreeSet<String> found = new TreeSet<>();
        for (RawRow row : rows) {
            if (row.label() != null && !row.label().isBlank())
                found.add(row.label().trim());
        }
        if (!rows.isEmpty() && found.size() < 2) {
            problems.addFileProblem("found " + found.size() + " distinct label(s) " + found
                    + "; a classification task needs at least 2");
        }
        return List.copyOf(found);
    }

    private static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read data file " + file + ": " + e, e);
        }
    }

    private static String baseName(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
