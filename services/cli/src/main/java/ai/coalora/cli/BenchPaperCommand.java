package ai.coalora.cli;

import ai.coalora.engine.bench.BenchSettings;
import ai.coalora.engine.bench.FleetReport;
import ai.coalora.engine.bench.LanguageModelBenchmark;
import ai.coalora.engine.bench.Method;
import ai.coalora.engine.bench.PaperBenchmark;
import ai.coalora.engine.bench.PaperReport;
import ai.coalora.engine.coa.ThetaSettings;
import ai.coalora.engine.coa.TrainingSetSpec;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.train.FineTuneSettings;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "paper",
        mixinStandardHelpOptions = true,
        description =
                "The paper's comparison (Table 2) at this machine's scale, on sentiment and spam: per-configuration "
                        + "LoRA, Shared-LoRA and CoA-LoRA (frozen set, random extension, search) on the same model and data. Prints "
                        + "a markdown table (or --json) with hypervolume, accuracy gaps with 95%% bootstrap intervals, training time, "
                        + "configurations served, seen vs unseen configurations and adapter emission time; writes one SVG plot per task. "
                        + "With --model DIR: the same comparison on a Llama/Qwen2 decoder (a `pretrain` output or a Hugging Face folder "
                        + "with tokenizer.json), adapted to a task's text with the language-modelling objective, scored by held-out perplexity.")
final class BenchPaperCommand implements Callable<Integer> {

    @Option(
            names = "--quick",
            description = "A few minutes: small samples, 2 epochs, 3 seen and 3 unseen configurations.")
    boolean quick;

    @Option(
            names = "--regime",
            paramLabel = "NAME",
            description =
                    "Budgets of the fleet and of the configurations: paper "
                            + "(devices at 2.5..5.5 bits, seen 2.5..5 bits, initial set 2.25..7.25) or low-bit (devices at 2.25..3 bits, seen "
                            + "2.25..3 bits, initial set 2.125..4.5 with anchors at 6 and 8 bits; every device counts in F_low). Default: paper.")
    String regime;

    @Option(
            names = "--tasks",
            split = ",",
            description = "Built-in tasks to run (default: sentiment,spam; with --model: sentiment, "
                    + "whose review sentences are the text the decoder is adapted to).")
    List<String> tasks;

    @Option(
            names = "--epochs",
            description = "Train every method for this many epochs (default: 3; --quick 2; with --model 2).")
    Integer epochs;

    @Option(
            names = "--train-limit",
            paramLabel = "N",
            description = "Training examples per task, a seeded sample; 0 = the whole "
                    + "training split (default: 1000; --quick 256).")
    Integer trainLimit;

    @Option(names = "--lr", description = "Peak AdamW learning rate of every method's LoRA and head (default: 1e-3).")
    Float learningRate;

    @Option(
            names = "--rank",
            description = "LoRA rank of every method; alpha = 2 x rank, so the scale stays 2 (default: 16).")
    Integer rank;

    @Mixin
    ThetaOptions thetaOptions;

    @Option(
            names = "--seeds",
            description = "Training seeds per method; intervals then cover seeds and test examples (default: 1).")
    Integer seeds;

    @Option(
            names = "--methods",
            split = ",",
            description = "Methods to run, of per-configuration, shared-lora, coa-frozen, "
                    + "coa-random, coa-search, coa-blind (default: all but coa-blind).")
    List<String> methods;

    @Option(
            names = "--initial-range",
            split = ",",
            paramLabel = "LOW,HIGH",
            description = "Budget range of the initial training " + "set's grid (default: 2.25,7.25).")
    List<Double> initialRange;

    @Option(
            names = "--initial-count",
            paramLabel = "N",
            description = "Budgets in the initial grid (default: 50; --quick 8).")
    Integer initialCount;

    @Option(
            names = "--anchors",
            split = ",",
            paramLabel = "BITS",
            description = "Extra budgets whose optimal allocation joins the "
                    + "initial set, e.g. high-bit anchors next to a low-bit grid.")
    List<Double> anchors;

    @Option(
            names = "--integer-budgets",
            split = ",",
            paramLabel = "BITS",
            description = "Budgets whose integer-only allocation "
                    + "joins the initial set (they must differ from the unseen ones to keep those unseen).")
    List<Double> integerBudgets;

    @Option(
            names = "--search-eval",
            paramLabel = "N",
            description = "Validation examples the search measures configurations on; "
                    + "0 = the whole validation split (default: 128; --quick 64).")
    Integer searchEval;

    @Option(
            names = "--candidates",
            paramLabel = "N",
            description = "New configurations the search proposes per epoch (default: 16).")
    Integer candidates;

    @Option(
            names = "--search-posterior-mean",
            description =
                    "The search (and random extension) keeps each bit segment's "
                            + "non-dominated configurations by the Gaussian process's posterior mean loss instead of the raw, noisy measurement.")
    boolean searchPosteriorMean;

    @Option(
            names = "--headroom",
            description = "Also fine-tune the trained Shared-LoRA one more epoch on each low-bit seen "
                    + "configuration alone, and (control) one more epoch over the whole training set: the difference is what any "
                    + "configuration-specific correction could add there.")
    boolean headroom;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "A decoder folder (config.json, *.safetensors, tokenizer.json): "
                    + "compare the methods on it by perplexity instead of on MiniLM by accuracy.")
    Path model;

    @Option(
            names = "--plots",
            defaultValue = "bench-paper",
            paramLabel = "DIR",
            description =
                    "Directory for the plots (accuracy vs average bits per method, one SVG per task) and paper.json, "
                            + "every measurement (default: ${DEFAULT-VALUE}).")
    Path plots;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (model != null) return decoder();
        if (tasks == null) tasks = List.of("sentiment", "spam");
        BenchSettings settings = settings();
        List<TaskData> data = new ArrayList<>();
        for (String t : tasks) data.add(Tasks.builtin(t)); // fail on a bad name before any training
        Files.createDirectories(plots);
        ProgressBar progress = new ProgressBar();
        List<Object> results = new ArrayList<>();
        long start = System.nanoTime();
        for (TaskData task : data) {
            PaperBenchmark.TaskResult r;
            try (PretrainedModel model = PretrainedModel.miniLm(settings.maxLength())) {
                r = PaperBenchmark.run(model, task, settings, progress);
            }
            Path plot = plots.resolve("paper-" + task.name() + ".svg");
            PaperReport.plot(r, plot);
            Map<String, Object> j = PaperReport.json(r);
            j.put("plot", plot.toString());
            results.add(j);
            if (!json.json) {
                System.out.println(PaperReport.markdown(r));
                System.out.println(FleetReport.markdown(r));
                System.out.println("Plot: " + plot);
                System.out.println();
            }
        }
        double minutes = (System.nanoTime() - start) / 60e9;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mode", quick ? "quick" : "full");
        out.put("minutes", minutes);
        out.put("tasks", results);
        // the full measurements always land next to the plots, whatever is printed
        JsonOption.MAPPER.writeValue(plots.resolve("paper.json").toFile(), out);
        if (json.json) {
            json.print(out);
        } else {
            System.out.printf("bench paper (%s) took %.1f min%n", quick ? "quick" : "full", minutes);
        }
        return 0;
    }

    /** The mode's settings with the study's flags applied. */
    private BenchSettings settings() {
        BenchSettings s = quick ? BenchSettings.quickRun() : BenchSettings.full();
        if (regime != null) {
            s = switch (regime) {
                case "paper" -> s;
                case "low-bit" -> BenchSettings.lowBit(s);
                default ->
                    throw new IllegalArgumentException("unknown --regime '" + regime + "'; valid: paper, low-bit");
            };
        }
        FineTuneSettings t = s.training();
        if (epochs != null) t = t.withEpochs(epochs);
        if (learningRate != null) {
            t = new FineTuneSettings(
                    t.epochs(), t.batchSize(), learningRate, t.weightDecay(), t.clipNorm(), t.seed(), t.lora());
        }
        if (rank != null) t = t.withLora(new LoraSpec(rank, 2f * rank));
        s = s.withTraining(t);
        if (trainLimit != null) s = s.withTrainLimit(trainLimit);
        ThetaSettings theta = thetaOptions.apply(s.theta());
        s = s.withTheta(theta);
        if (seeds != null) s = s.withSeeds(seeds);
        if (methods != null)
            s = s.withMethods(methods.stream().map(Method::parse).toList());
        TrainingSetSpec set = s.trainingSet();
        if (initialRange != null) {
            if (initialRange.size() != 2)
                throw new IllegalArgumentException("--initial-range takes LOW,HIGH, got " + initialRange);
            set = new TrainingSetSpec(
                    initialRange.get(0), initialRange.get(1), set.count(), set.anchors(), set.integerBudgets());
        }
        if (initialCount != null)
            set = new TrainingSetSpec(set.low(), set.high(), initialCount, set.anchors(), set.integerBudgets());
        if (anchors != null)
            set = new TrainingSetSpec(set.low(), set.high(), set.count(), anchors, set.integerBudgets());
        if (integerBudgets != null)
            set = new TrainingSetSpec(set.low(), set.high(), set.count(), set.anchors(), integerBudgets);
        s = s.withTrainingSet(set);
        if (searchEval != null || candidates != null) {
            s = s.withSearch(
                    searchEval != null ? searchEval : s.evaluationBatch(),
                    candidates != null ? candidates : s.candidates());
        }
        return s.withHeadroom(headroom).withSearchPosteriorMean(searchPosteriorMean);
    }

    /** The comparison on a decoder: each task's texts are an adaptation domain, every method scored by perplexity. */
    private Integer decoder() throws Exception {
        LanguageModelBenchmark.Settings settings =
                quick ? LanguageModelBenchmark.Settings.quickRun() : LanguageModelBenchmark.Settings.full();
        if (epochs != null) {
            if (epochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
            settings = settings.withEpochs(epochs);
        }
        List<TaskData> data = new ArrayList<>();
        for (String t : tasks == null ? List.of("sentiment") : tasks) data.add(Tasks.builtin(t));
        Path tokenizerFile = model.resolve(Pretraining.TOKENIZER_FILE);
        if (!Files.isRegularFile(tokenizerFile))
            throw new IllegalArgumentException("no " + Pretraining.TOKENIZER_FILE + " in " + model);
        BpeTokenizer tokenizer = BpeTokenizer.load(tokenizerFile);
        Files.createDirectories(plots);
        ProgressBar progress = new ProgressBar();
        List<Object> results = new ArrayList<>();
        long start = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.load(model, manager)) {
            for (TaskData task : data) {
                LanguageModelBenchmark.Result r = LanguageModelBenchmark.run(
                        decoder,
                        tokenizer,
                        task.name(),
                        Example.texts(task.train()),
                        Example.texts(task.validation()),
                        Example.texts(task.test()),
                        settings,
                        progress);
                results.add(LanguageModelBenchmark.json(r));
                if (!json.json) System.out.println(LanguageModelBenchmark.markdown(r));
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mode", quick ? "quick" : "full");
        out.put("model", model.toString());
        out.put("minutes", (System.nanoTime() - start) / 60e9);
        out.put("tasks", results);
        JsonOption.MAPPER.writeValue(plots.resolve("paper-decoder.json").toFile(), out);
        if (json.json) json.print(out);
        return 0;
    }
}
