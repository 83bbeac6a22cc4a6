package ai.coalora.cli;

import ai.coalora.engine.data.DataFileOptions;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Which task to train on: a built-in one, or the user's own labelled file. */
public final class TaskOptions {

    @ArgGroup(exclusive = true)
    Source source = new Source();

    static final class Source {
        @Option(names = "--task", description = "Built-in task: sentiment or spam (default: sentiment).")
        String task;

        @Option(
                names = "--data",
                paramLabel = "FILE",
                description = "Your own labelled data: a .csv (with header) or .jsonl file.")
        Path data;
    }

    @Option(
            names = "--text-column",
            defaultValue = "text",
            description = "With --data: column holding the text (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(
            names = "--label-column",
            defaultValue = "label",
            description = "With --data: column holding the label (default: ${DEFAULT-VALUE}).")
    String labelColumn;

    @Option(
            names = "--split-column",
            description = "With --data: column with train/validation/test per row (default: a seeded 70/10/20 split).")
    String splitColumn;

    @Option(
            names = "--labels",
            split = ",",
            description = "With --data: the allowed labels, in order; any other label is an error.")
    List<String> labels;

    @Option(
            names = "--max-length",
            description = "Tokens per example after truncation (default: 64 for sentiment, 128 otherwise).")
    Integer maxLength;

    TaskData load() {
        if (source.data != null) {
            if (!Files.isRegularFile(source.data))
                throw new UncheckedIOException(new NoSuchFileException(source.data.toString()));
            return Tasks.fromFile(new DataFileOptions(source.data, textColumn, labelColumn, splitColumn, labels, 42));
        }
        return Tasks.builtin(source.task == null ? "sentiment" : source.task);
    }

    int maxLength(TaskData task) {
        int n = maxLength != null ? maxLength : task.name().equals("sentiment") ? 64 : 128;
        if (n < 2 || n > 512) throw new IllegalArgumentException("--max-length must be within 2..512, got " + n);
        return n;
    }
}
