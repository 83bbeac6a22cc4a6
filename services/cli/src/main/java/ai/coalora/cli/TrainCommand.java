package ai.coalora.cli;

import ai.coalora.engine.PretrainedModel;
import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.BundleTraining;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "CoA-LoRA training with the Pareto configuration search: one run yields a model bundle that emits an "
                + "adapter for ANY quantization configuration. Writes the bundle (format coalora.bundle/v1) to --out.")
final class TrainCommand implements Callable<Integer> {

    @Mixin
    TaskOptions taskOptions;

    @Mixin
    TrainOptions trainOptions;

    @Option(names = "--out", required = true, paramLabel = "BUNDLE", description = "Directory to write the bundle to (replaced if it holds a bundle).")
    Path out;

    @Option(names = "--initial-grid", defaultValue = "50", description = "Budgets of the initial training set over 2.25..7.25 (default: ${DEFAULT-VALUE}).")
    int initialGrid;

    @Option(names = "--segments", defaultValue = "40", description = "Bit segments U of the search's selection (default: ${DEFAULT-VALUE}).")
    int segments;

    @Option(names = "--candidates", defaultValue = "16", description = "New configurations the search measures per epoch (default: ${DEFAULT-VALUE}).")
    int candidates;

    @Option(names = "--configs-per-step", defaultValue = "2", description = "Configurations per training step (default: ${DEFAULT-VALUE}).")
    int configsPerStep;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        TaskData task = taskOptions.load();
        int maxLength = taskOptions.maxLength(task);
        CoaSettings settings = new CoaSettings(trainOptions.settings(), configsPerStep, true, CoaSettings.DEFAULT_CACHE_CAPACITY);
        BundleTraining training = new BundleTraining(settings, initialGrid, segments, candidates, BundleTraining.defaults().evaluationBatch());
        BundleManifest m;
        try (PretrainedModel model = PretrainedModel.miniLm(maxLength)) {
            m = training.run(model, task, maxLength, out, new ProgressBar());
        }
        if (json.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("bundle", out.toString());
            o.put("modelVersion", m.tensorsSha256());
            o.put("task", m.task().name());
            o.put("trainSeconds", m.training().seconds());
            o.put("trainedConfigurations", m.training().trainedConfigurations());
            o.put("front", m.front().stream().map(p -> Map.of("averageBits", p.averageBits(), "validationAccuracy", p.validationAccuracy())).toList());
            json.print(o);
        } else {
            System.out.printf("bundle %s (model version %s)%n", out, m.tensorsSha256().substring(0, 16));
            System.out.printf("trained in %.0f s on %d configurations; final front of %d configurations:%n",
                    m.training().seconds(), m.training().trainedConfigurations(), m.front().size());
            for (BundleManifest.FrontPoint p : m.front()) {
                System.out.printf("  %.3f bits  validation accuracy %.3f  loss %.3f%n", p.averageBits(), p.validationAccuracy(), p.validationLoss());
            }
        }
        return 0;
    }
}
