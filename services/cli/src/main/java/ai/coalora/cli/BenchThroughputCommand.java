package ai.coalora.cli;

import ai.coalora.engine.baseline.PerConfigurationBaseline;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.ThroughputBenchmark;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "throughput",
        mixinStandardHelpOptions = true,
        description = "LoRA training throughput (tokens/s) on a quantized base, and in the same run the dense "
                + "matmul throughput at the same shapes; prints their ratio (share of step time that is matmul).")
final class BenchThroughputCommand implements Callable<Integer> {

    @Option(names = "--steps", defaultValue = "30", description = "Timed training steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "5", description = "Untimed warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Mixin
    TaskOptions taskOptions;

    @Mixin
    QuantOptions quantOptions;

    @Mixin
    TrainOptions trainOptions;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (steps < 1 || warmup < 0) throw new IllegalArgumentException("--steps must be >= 1 and --warmup >= 0");
        TaskData task = taskOptions.load();
        ProgressBar progress = new ProgressBar();
        ThroughputBenchmark.Result r;
        ModelQuantConfig config;
        try (PretrainedModel model = PretrainedModel.miniLm(taskOptions.maxLength(task))) {
            config = quantOptions.resolve(model, task, progress);
            PerConfigurationBaseline.Splits splits = PerConfigurationBaseline.Splits.of(model, task);
            try (BaseWeights base = QuantizedWeights.materialize(model.encoder(), config)) {
                r = ThroughputBenchmark.run(
                        model.encoder(),
                        base,
                        trainOptions.settings(),
                        splits.train(),
                        steps,
                        warmup,
                        (phase, done, total) -> progress.update("training steps", done, total));
            }
        }
        if (json.json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("task", task.name());
            out.put("averageBits", config.averageBits());
            out.put("steps", r.steps());
            out.put("batchSize", r.batchSize());
            out.put("tokens", r.tokens());
            out.put("paddedTokens", r.paddedTokens());
            out.put("trainSeconds", r.trainSeconds());
            out.put("trainTokensPerSecond", r.trainTokensPerSecond());
            out.put("matmulSeconds", r.matmulSeconds());
            out.put("matmulGflopPerSecond", r.matmulGflopPerSecond());
            out.put("matmulOnlyTokensPerSecond", r.matmulOnlyTokensPerSecond());
            out.put("ratio", r.ratio());
            json.print(out);
        } else {
            System.out.printf(
                    "task %s, %.3f average bits, %d steps x batch %d (%d tokens, %d with padding)%n",
                    task.name(), config.averageBits(), r.steps(), r.batchSize(), r.tokens(), r.paddedTokens());
            System.out.printf(
                    "training:        %8.1f tokens/s  (%.2f s)%n", r.trainTokensPerSecond(), r.trainSeconds());
            System.out.printf(
                    "matmuls alone:   %8.1f tokens/s  (%.2f s, %.1f GFLOP/s at the same shapes)%n",
                    r.matmulOnlyTokensPerSecond(), r.matmulSeconds(), r.matmulGflopPerSecond());
            System.out.printf("ratio (matmul time / training time): %.3f%n", r.ratio());
        }
        return 0;
    }
}
