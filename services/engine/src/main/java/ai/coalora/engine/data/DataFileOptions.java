package ai.coalora.engine.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * How to read a user's labelled data file (CSV with a header row, or JSON Lines).
 *
 * @param file        a {@code .csv}, {@code .jsonl} or {@code .json} (one JSON object per line) file
 * @param textColumn  column / field holding the text
 * @param labelColumn column / field holding the label (a string; numbers are read as strings)
 * @param splitColumn nullable; column whose values are {@code train}, {@code validation} or {@code test}.
 *                    Without it the rows are split 70/10/20 with {@code seed}.
 * @param labels      nullable; the allowed labels in index order. Without it, the sorted distinct labels.
 * @param seed        seed of the shuffle when there is no split column
 */
public record DataFileOptions(
        Path file, String textColumn, String labelColumn, String splitColumn, List<String> labels, long seed) {

    public DataFileOptions {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(textColumn, "textColumn");
        Objects.requireNonNull(labelColumn, "labelColumn");
        if (labels != null) labels = List.copyOf(labels);
    }

    /** Columns {@code text} and {@code label}, no split column, labels from the data, seed 42. */
    public static DataFileOptions of(Path file) {
        return new DataFileOptions(file, "text", "label", null, null, Splits.DEFAULT_SEED);
    }
}
