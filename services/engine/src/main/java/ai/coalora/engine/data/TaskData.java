package ai.coalora.engine.data;

import java.util.List;
import java.util.Objects;

/**
 * A classification task with fixed train/validation/test splits.
 *
 * @param labels       label names; an {@link Example#label()} is an index into this list
 * @param sourceSha256 sha256 of the source bytes the examples were read from, for lineage
 */
public record TaskData(
        String name,
        List<String> labels,
        List<Example> train,
        List<Example> validation,
        List<Example> test,
        String sourceSha256) {

    public TaskData {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(sourceSha256, "sourceSha256");
        labels = List.copyOf(labels);
        train = List.copyOf(train);
        validation = List.copyOf(validation);
        test = List.copyOf(test);
        if (labels.size() < 2) throw new IllegalArgumentException("a task needs at least 2 labels, got " + labels);
        for (List<Example> split : List.of(train, validation, test)) {
            for (Example e : split) {
                if (e.label() >= labels.size()) {
                    throw new IllegalArgumentException("label index " + e.label() + " out of range for " + labels);
                }
            }
        }
    }

    public int size() {
        return train.size() + validation.size() + test.size();
    }
}
