package ai.coalora.engine.baseline;

import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.Progress;
import java.util.ArrayList;
import java.util.List;

/**
 * The QLoRA-style baseline that CoA-LoRA must beat: for ONE quantization configuration, freeze the
 * quantized base and fine-tune a LoRA adapter (and the head). With references on, the same run also
 * reports what each budget costs: LoRA on the full-precision base, and the quantized base with no
 * adapter (only the head trained).
 */
public final class PerConfigurationBaseline {

    public enum Variant {
        QUANTIZED_LORA("quantized + LoRA"),
        FULL_PRECISION_LORA("fp32 + LoRA (reference)"),
        QUANTIZED_NO_ADAPTER("quantized, no adapter (head only)");

        public final String label;

        Variant(String label) {
            this.label = label;
        }
    }

    public record Run(Variant variant, double averageBits, FineTuner.Result result) {}

    public record Report(String task, ModelQuantConfig config, List<Run> runs) {}

    /** Tokenized train/validation/test splits of a task. */
    public record Splits(EncodedExamples train, EncodedExamples validation, EncodedExamples test) {
        public static Splits of(PretrainedModel model, TaskData task) {
            return new Splits(
                    EncodedExamples.of(model.tokenizer(), task.train()),
                    EncodedExamples.of(model.tokenizer(), task.validation()),
                    EncodedExamples.of(model.tokenizer(), task.test()));
        }
    }

    private PerConfigurationBaseline() {}

    public static Report run(
            PretrainedModel model,
            TaskData task,
            ModelQuantConfig config,
            FineTuneSettings settings,
            boolean references,
            Progress progress) {
        if (task.train().isEmpty() || task.test().isEmpty())
            throw new IllegalArgumentException("task " + task.name() + " has an empty train or test split");
        Splits splits = Splits.of(model, task);
        FineTuner tuner = new FineTuner(model.encoder(), task.labels().size());
        List<Run> runs = new ArrayList<>();
        try (BaseWeights quantized = QuantizedWeights.materialize(model.encoder(), config)) {
            runs.add(new Run(
                    Variant.QUANTIZED_LORA,
                    config.averageBits(),
                    tuner.run(
                            quantized,
                            settings,
                            splits.train(),
                            splits.validation(),
                            splits.test(),
                            phase(progress, "quantized+LoRA"))));
            if (references) {
                runs.add(new Run(
                        Variant.QUANTIZED_NO_ADAPTER,
                        config.averageBits(),
                        tuner.run(
                                quantized,
                                settings.withLora(null),
                                splits.train(),
                                splits.validation(),
                                splits.test(),
                                phase(progress, "quantized head-only"))));
            }
        }
        if (references) {
            runs.add(new Run(
                    Variant.FULL_PRECISION_LORA,
                    32.0,
                    tuner.run(
                            model.encoder().fullPrecision(),
                            settings,
                            splits.train(),
                            splits.validation(),
                            splits.test(),
                            phase(progress, "fp32+LoRA"))));
        }
        return new Report(task.name(), config, runs);
    }

    private static Progress phase(Progress p, String name) {
        return (phase, done, total) -> p.update(name + " " + phase, done, total);
    }
}
