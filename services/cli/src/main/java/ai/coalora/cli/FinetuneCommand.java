package ai.coalora.cli;

import ai.coalora.engine.baseline.PerConfigurationBaseline;
import ai.coalora.engine.baseline.PerConfigurationBaseline.Report;
import ai.coalora.engine.baseline.PerConfigurationBaseline.Run;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.quant.ModelQuantConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "finetune",
        mixinStandardHelpOptions = true,
        description =
                "Per-configuration baseline (QLoRA-style): quantize the pretrained model (best allocation for "
                        + "--budget, or --config), fine-tune LoRA + head on the frozen quantized base, report validation/test "
                        + "accuracy and wall time; with references (default) also fp32 + LoRA and the quantized model with no adapter.")
final class FinetuneCommand implements Callable<Integer> {

    @Mixin
    TaskOptions taskOptions;

    @Mixin
    QuantOptions quantOptions;

    @Mixin
    TrainOptions trainOptions;

    @Option(names = "--no-references", description = "Skip the fp32 + LoRA and no-adapter reference runs.")
    boolean noReferences;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        TaskData task = taskOptions.load();
        var settings = trainOptions.settings();
        ProgressBar progress = new ProgressBar();
        long start = System.nanoTime();
        Report report;
        try (PretrainedModel model = PretrainedModel.miniLm(taskOptions.maxLength(task))) {
            ModelQuantConfig config = quantOptions.resolve(model, task, progress);
            report = PerConfigurationBaseline.run(model, task, config, settings, !noReferences, progress);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        print(report, task, seconds, json);
        return 0;
    }

    private static String notes(ai.coalora.engine.train.FineTuner.Result r) {
        String s = "";
        if (r.recomputedSteps() > 0) s += "  (" + r.recomputedSteps() + " non-finite gradients recomputed)";
        if (r.skippedSteps() > 0) s += "  (" + r.skippedSteps() + " steps skipped)";
        return s;
    }

    static void print(Report report, TaskData task, double seconds, JsonOption json) {
        if (json.json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("task", report.task());
            out.put(
                    "examples",
                    Map.of(
                            "train",
                            task.train().size(),
                            "validation",
                            task.validation().size(),
                            "test",
                            task.test().size()));
            out.put("averageBits", report.config().averageBits());
            List<Map<String, Object>> runs = new ArrayList<>();
            for (Run r : report.runs()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("variant", r.variant().name().toLowerCase());
                m.put("averageBits", r.averageBits());
                m.put("validationAccuracy", r.result().validationAccuracy());
                m.put("testAccuracy", r.result().testAccuracy());
                m.put("trainSeconds", r.result().trainSeconds());
                m.put("trainTokensPerSecond", r.result().tokensPerSecond());
                m.put("recomputedSteps", r.result().recomputedSteps());
                m.put("skippedSteps", r.result().skippedSteps());
                runs.add(m);
            }
            out.put("runs", runs);
            out.put("totalSeconds", seconds);
            json.print(out);
            return;
        }
        System.out.printf(
                "task %s: %d train / %d validation / %d test examples%n",
                report.task(),
                task.train().size(),
                task.validation().size(),
                task.test().size());
        System.out.printf("%-36s %8s %10s %10s %10s%n", "run", "avg bits", "val acc", "test acc", "train s");
        for (Run r : report.runs()) {
            System.out.printf(
                    "%-36s %8.3f %10.4f %10.4f %10.1f%s%n",
                    r.variant().label,
                    r.averageBits(),
                    r.result().validationAccuracy(),
                    r.result().testAccuracy(),
                    r.result().trainSeconds(),
                    notes(r.result()));
        }
        System.out.printf("total wall time %.1f s%n", seconds);
    }
}
