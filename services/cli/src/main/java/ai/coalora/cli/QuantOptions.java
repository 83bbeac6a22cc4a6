package ai.coalora.cli;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.quant.BudgetAllocator;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import ai.coalora.engine.train.Progress;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Which quantization configuration: the best allocation for a bit budget, or a configuration file. */
public final class QuantOptions {

    @ArgGroup(exclusive = true)
    Choice choice = new Choice();

    static final class Choice {
        @Option(
                names = "--budget",
                paramLabel = "BITS",
                description = "Target average bits per weight over the quantized matrices (default: 3.0).")
        Double budget;

        @Option(
                names = "--config",
                paramLabel = "FILE",
                description = "A configuration in the JSON form `coalora quantize` writes.")
        Path config;
    }

    @Option(
            names = "--quantizer",
            defaultValue = "nf",
            description = "With --budget: nf (NormalFloat) or int (default: ${DEFAULT-VALUE}).")
    String quantizer;

    @Option(
            names = "--integer-only",
            description = "With --budget: choose only the bit width b per matrix, with the fixed block layout.")
    boolean integerOnly;

    @Option(
            names = "--calibration",
            defaultValue = "256",
            description =
                    "Training sentences used to weight quantization error by input importance (default: ${DEFAULT-VALUE}).")
    int calibration;

    double budget() {
        double b = choice.budget == null ? 3.0 : choice.budget;
        if (!Double.isFinite(b)) throw new IllegalArgumentException("--budget must be a finite number, got " + b);
        return b;
    }

    QuantizerKind kind() {
        return switch (quantizer.toLowerCase()) {
            case "nf" -> QuantizerKind.NF;
            case "int" -> QuantizerKind.INT;
            default -> throw new IllegalArgumentException("--quantizer must be nf or int, got " + quantizer);
        };
    }

    boolean fromFile() {
        return choice.config != null;
    }

    /** The configuration file's, or the planner's best allocation for the budget. */
    ModelQuantConfig resolve(PretrainedModel model, TaskData task, Progress progress) throws IOException {
        if (choice.config != null) return ModelQuantConfig.read(choice.config);
        return plan(model, task, progress).config();
    }

    BudgetAllocator.Allocation plan(PretrainedModel model, TaskData task, Progress progress) {
        double budget = budget(); // validate before the expensive part
        BudgetPlanner planner = planner(model, task, progress);
        return planner.allocate(budget, integerOnly);
    }

    /** Calibrated on the first --calibration training texts of the task. */
    BudgetPlanner planner(PretrainedModel model, TaskData task, Progress progress) {
        QuantizerKind kind = kind();
        if (calibration < 1) throw new IllegalArgumentException("--calibration must be >= 1");
        List<String> texts =
                task.train().stream().limit(calibration).map(Example::text).toList();
        return BudgetPlanner.calibrate(model.encoder(), model.tokenizer(), texts, kind, progress);
    }
}
