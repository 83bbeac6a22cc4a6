package ai.coalora.engine.data;

import java.util.List;
import java.util.Objects;

/** One labelled text; {@code label} indexes {@link TaskData#labels()}. */
public record Example(String text, int label) {
    public Example {
        Objects.requireNonNull(text, "text");
        if (label < 0) throw new IllegalArgumentException("label must be >= 0, got " + label);
    }

    /** The texts of a split, in order (e.g. a language model's adaptation text). */
    public static List<String> texts(List<Example> split) {
        return split.stream().map(Example::text).toList();
    }
}
