package ai.coalora.cli;

import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.BundleTraining;
import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.bundle.DecoderBundleTraining;
import ai.coalora.engine.bundle.PhaseTimer;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.PretrainedModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description =
                "CoA-LoRA training with the Pareto configuration search: one run yields a model bundle that emits an "
                        + "adapter for ANY quantization configuration. Writes the bundle (format coalora.bundle/v1) to --out. "
                        + "With --model DIR: CoA-LoRA on a Llama/Qwen2 decoder (a `pretrain` output or a Hugging Face folder with "
                        + "tokenizer.json) adapted to the task's text by language modelling; writes a decoder bundle "
                        + "(coalora.decoder-bundle/v1) whose front is scored by validation perplexity; `coalora gguf` deploys it.")
final class TrainCommand implements Callable<Integer> {

    @Mixin
    TaskOptions taskOptions;

    @Mixin
    TrainOptions trainOptions;

    @Option(
            names = "--out",
            required = true,
            paramLabel = "BUNDLE",
            description = "Directory to write the bundle to (replaced if it holds a bundle).")
    Path out;

    @Option(
            names = "--initial-grid",
            defaultValue = "50",
            description = "Budgets of the initial training set over 2.25..7.25 (default: ${DEFAULT-VALUE}).")
    int initialGrid;

    @Option(
            names = "--segments",
            defaultValue = "40",
            description = "Bit segments U of the search's selection (default: ${DEFAULT-VALUE}).")
    int segments;

    @Option(
            names = "--candidates",
            defaultValue = "0",
            description = "New configurations the Pareto search measures per epoch; 0 trains on "
                    + "the initial set without searching: in the benchmark the search tripled the training time and did not raise the fleet's "
                    + "accuracy, so it is off unless asked for, e.g. --candidates 16 (default: ${DEFAULT-VALUE}).")
    int candidates;

    @Option(
            names = "--configs-per-step",
            defaultValue = "2",
            description = "Configurations per training step (default: ${DEFAULT-VALUE}).")
    int configsPerStep;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "A decoder folder (config.json, *.safetensors, tokenizer.json): "
                    + "train on it with the language-modelling objective instead of on MiniLM with a classifier head.")
    Path model;

    @Option(
            names = "--seq-len",
            defaultValue = "64",
            description = "With --model: tokens per window (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(
            names = "--windows",
            defaultValue = "0",
            description =
                    "With --model: training windows, 0 for all the train split gives (default: ${DEFAULT-VALUE}).")
    int windows;

    @Option(
            names = "--evaluation-windows",
            defaultValue = "24",
            description =
                    "With --model: validation windows the search measures configurations on (default: ${DEFAULT-VALUE}).")
    int evaluationWindows;

    @Option(
            names = "--validation-windows",
            defaultValue = "96",
            description =
                    "With --model: validation windows the front's perplexities are measured on, 0 for all (default: ${DEFAULT-VALUE}).")
    int validationWindows;

    @Mixin
    ThetaOptions thetaOptions;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        PhaseTimer timer = new PhaseTimer();
        if (model != null) return decoder(timer);
        TaskData task = taskOptions.load();
        int maxLength = taskOptions.maxLength(task);
        CoaSettings settings =
                new CoaSettings(trainOptions.settings(), configsPerStep, true, CoaSettings.DEFAULT_CACHE_CAPACITY);
        settings = settings.withTheta(thetaOptions.apply(settings.theta()));
        BundleTraining training = new BundleTraining(
                settings,
                initialGrid,
                segments,
                candidates,
                BundleTraining.defaults().evaluationBatch());
        BundleManifest m;
        try (PretrainedModel model = PretrainedModel.miniLm(maxLength)) {
            timer.mark(PhaseTimer.LOADING);
            m = training.run(model, task, maxLength, out, new ProgressBar(), null, timer);
        }
        if (json.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("bundle", out.toString());
            o.put("modelVersion", m.tensorsSha256());
            o.put("task", m.task().name());
            o.put("trainSeconds", m.training().seconds());
            o.put("trainedConfigurations", m.training().trainedConfigurations());
            putPhases(o, timer);
            o.put(
                    "front",
                    m.front().stream()
                            .map(p -> Map.of(
                                    "averageBits", p.averageBits(), "validationAccuracy", p.validationAccuracy()))
                            .toList());
            json.print(o);
        } else {
            System.out.printf(
                    "bundle %s (model version %s)%n", out, m.tensorsSha256().substring(0, 16));
            System.out.printf(
                    "trained in %.0f s on %d configurations; final front of %d configurations:%n",
                    m.training().seconds(),
                    m.training().trainedConfigurations(),
                    m.front().size());
            for (BundleManifest.FrontPoint p : m.front()) {
                System.out.printf(
                        "  %.3f bits  validation accuracy %.3f  loss %.3f%n",
                        p.averageBits(), p.validationAccuracy(), p.validationLoss());
            }
            printPhases(timer);
        }
        return 0;
    }

    /** CoA-LoRA on a decoder: the task's texts are the adaptation domain, the front is scored by perplexity. */
    private Integer decoder(PhaseTimer timer) throws Exception {
        if (taskOptions.maxLength != null)
            throw new IllegalArgumentException("--max-length is for the encoder; with --model use --seq-len");
        TaskData task = taskOptions.load();
        CoaSettings settings =
                new CoaSettings(trainOptions.settings(), configsPerStep, true, CoaSettings.DEFAULT_CACHE_CAPACITY);
        settings = settings.withTheta(thetaOptions.apply(settings.theta()));
        DecoderBundleManifest m = new DecoderBundleTraining(
                        settings,
                        seqLen,
                        windows,
                        evaluationWindows,
                        validationWindows,
                        initialGrid,
                        segments,
                        candidates)
                .run(model, task, out, new ProgressBar(), timer);
        if (json.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("bundle", out.toString());
            o.put("modelVersion", m.tensorsSha256());
            o.put("baseModel", m.baseModel().path());
            o.put("task", m.task().name());
            o.put("trainWindows", m.task().trainWindows());
            o.put("trainSeconds", m.training().seconds());
            o.put("trainedConfigurations", m.training().trainedConfigurations());
            putPhases(o, timer);
            o.put(
                    "front",
                    m.front().stream()
                            .map(p -> Map.of(
                                    "averageBits", p.averageBits(), "validationPerplexity", p.validationPerplexity()))
                            .toList());
            json.print(o);
        } else {
            System.out.printf(
                    "decoder bundle %s (model version %s) for %s%n",
                    out, m.tensorsSha256().substring(0, 16), m.baseModel().path());
            System.out.printf(
                    "trained in %.0f s on %d windows of %d tokens and %d configurations; final front of %d configurations:%n",
                    m.training().seconds(),
                    m.task().trainWindows(),
                    m.seqLen(),
                    m.training().trainedConfigurations(),
                    m.front().size());
            for (DecoderBundleManifest.FrontPoint p : m.front()) {
                System.out.printf(
                        "  %.3f bits  validation perplexity %.2f%n", p.averageBits(), p.validationPerplexity());
            }
            printPhases(timer);
        }
        return 0;
    }

    /** The whole command's wall time and its phases (the manifest records the same phases, less writing). */
    private static void putPhases(Map<String, Object> o, PhaseTimer timer) {
        o.put("wallSeconds", timer.total());
        o.put("phaseSeconds", timer.seconds());
    }

    private static void printPhases(PhaseTimer timer) {
        System.out.printf("wall time %.0f s: %s%n", timer.total(), PhaseTimer.format(timer.seconds()));
    }
}
