package ai.coalora.engine.bench;

import ai.coalora.engine.PretrainedModel;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.coa.CoaTrainer;
import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.coa.TrainingSetPolicies;
import ai.coalora.engine.coa.TrainingSetPolicy;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.BudgetPlanner;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.train.ClassificationObjective;
import ai.coalora.engine.train.ClassifierHead;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.Progress;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The paper's comparison (its Table 2) on one task, at this machine's scale: per-configuration LoRA,
 * Shared-LoRA and CoA-LoRA (frozen set, random extension, search), all on the same pretrained model,
 * data, epochs and optimiser, evaluated on the same seen and unseen configurations of the same test
 * examples (so differences can be bootstrapped pairwise). This class only measures; {@link PaperReport}
 * turns the measurements into tables, intervals and plots.
 */
public final class PaperBenchmark {

    /** One method on one configuration: which test examples it got right. */
    public record Evaluation(ModelQuantConfig config, boolean seen, boolean[] testCorrect) {
        public double accuracy() {
            int n = 0;
            for (boolean c : testCorrect) if (c) n++;
            return (double) n / testCorrect.length;
        }
    }

    /**
     * @param trainSeconds     wall time of training (per-configuration: the runs on the seen configurations only)
     * @param extraSeconds     per-configuration: the reference runs on the unseen configurations (not in the total)
     * @param configsServed    how many configurations the trained artifact can serve ("any" for the shared ones)
     * @param trainingConfigurations configurations trained on
     */
    public record MethodResult(Method method, double trainSeconds, double extraSeconds, String configsServed,
                               int trainingConfigurations, int recomputedSteps, List<Evaluation> evaluations,
                               List<TrainingSetPolicies.Round> rounds, double policySeconds, int materializations) {}

    /** Adapter emission (fold M into A) vs fine-tuning one LoRA. */
    public record Emission(int samples, double medianMillis, double perConfigurationFineTuneSeconds) {
        public double ratio() { return medianMillis / 1000.0 / perConfigurationFineTuneSeconds; }
    }

    public record TaskResult(String task, int trainExamples, int testExamples, List<ModelQuantConfig> seen,
                             List<ModelQuantConfig> unseen, int initialSetSize, List<MethodResult> methods, Emission emission) {}

    private PaperBenchmark() {}

    public static TaskResult run(PretrainedModel model, TaskData task, BenchSettings s, Progress progress) {
        Random random = new Random(42);
        List<Example> trainExamples = sample(task.train(), s.trainLimit(), random);
        List<Example> testExamples = s.testLimit() > 0 ? sample(task.test(), s.testLimit(), random) : task.test();
        EncodedExamples train = EncodedExamples.of(model.tokenizer(), trainExamples);
        EncodedExamples test = EncodedExamples.of(model.tokenizer(), testExamples);
        EncodedExamples evaluationBatch = EncodedExamples.of(model.tokenizer(),
                task.validation().subList(0, Math.min(s.evaluationBatch(), task.validation().size())));

        progress.update(task.name() + ": quantization error tables", 0, 1);
        BudgetPlanner planner = BudgetPlanner.calibrate(model.encoder(), model.tokenizer(),
                task.train().stream().limit(256).map(Example::text).toList(), QuantizerKind.NF, progress); // as `quantize` does: shared cached tables
        BenchConfigurations configurations = BenchConfigurations.of(planner, s.seenBudgets(), s.unseenBudgets(), s.initialGrid());
        List<ModelQuantConfig> seen = configurations.seen(), unseen = configurations.unseen(), initialSet = configurations.initialSet();

        List<MethodResult> methods = new ArrayList<>();
        methods.add(perConfiguration(model, task, s, train, test, seen, unseen, progress));
        ConfigAwareLora searched = null;
        try (NDManager keep = model.encoder().manager().newSubManager()) {
            for (Method m : List.of(Method.SHARED_LORA, Method.COA_FROZEN, Method.COA_RANDOM, Method.COA_SEARCH)) {
                TrainedShared t = trainShared(model, task, s, m, train, test, evaluationBatch, initialSet, seen, unseen, planner, keep, progress);
                methods.add(t.result);
                if (m == Method.COA_SEARCH) searched = t.model;
                else t.model.close();
            }
            Emission emission = emission(searched, QuantizedWeights.matrixSpecs(model.encoder()), s, methods.get(0), keep, random);
            searched.close();
            return new TaskResult(task.name(), train.size(), test.size(), seen, unseen, initialSet.size(), methods, emission);
        }
    }

    private static MethodResult perConfiguration(PretrainedModel model, TaskData task, BenchSettings s, EncodedExamples train,
                                                 EncodedExamples test, List<ModelQuantConfig> seen, List<ModelQuantConfig> unseen,
                                                 Progress progress) {
        FineTuner tuner = new FineTuner(model.encoder(), task.labels().size());
        List<Evaluation> evaluations = new ArrayList<>();
        double seenSeconds = 0, unseenSeconds = 0;
        int recomputed = 0;
        List<ModelQuantConfig> all = new ArrayList<>(seen);
        all.addAll(unseen);
        for (int i = 0; i < all.size(); i++) {
            ModelQuantConfig config = all.get(i);
            boolean isSeen = i < seen.size();
            String phase = String.format("%s: per-configuration LoRA %d/%d (%.2f bits)", task.name(), i + 1, all.size(), config.averageBits());
            try (BaseWeights base = QuantizedWeights.materialize(model.encoder(), config)) {
                FineTuner.Result r = tuner.run(base, s.training(), train, null, test, (p, d, t) -> progress.update(phase + " " + p, d, t));
                if (isSeen) seenSeconds += r.trainSeconds();
                else unseenSeconds += r.trainSeconds();
                recomputed += r.recomputedSteps();
                evaluations.add(new Evaluation(config, isSeen, r.testCorrect()));
            }
        }
        return new MethodResult(Method.PER_CONFIGURATION, seenSeconds, unseenSeconds, Integer.toString(seen.size()),
                seen.size(), recomputed, evaluations, List.of(), 0, all.size());
    }

    private record TrainedShared(MethodResult result, ConfigAwareLora model) {}

    private static TrainedShared trainShared(PretrainedModel model, TaskData task, BenchSettings s, Method method,
                                             EncodedExamples train, EncodedExamples test, EncodedExamples evaluationBatch,
                                             List<ModelQuantConfig> initialSet, List<ModelQuantConfig> seen,
                                             List<ModelQuantConfig> unseen, BudgetPlanner planner, NDManager keep, Progress progress) {
        CoaSettings settings = new CoaSettings(s.training(), 2, method.configAware(), CoaSettings.DEFAULT_CACHE_CAPACITY);
        TrainingSetPolicy policy = switch (method) {
            case COA_SEARCH -> TrainingSetPolicies.paretoSearch(s.segments(), s.candidates(), s.training().seed());
            case COA_RANDOM -> TrainingSetPolicies.randomExtension(s.segments(), s.candidates(), s.training().seed());
            default -> TrainingSetPolicy.frozen();
        };
        ClassifierHead head = new ClassifierHead(model.encoder().config().hiddenSize(), task.labels().size(), s.training().seed(), keep);
        ConfigAwareLora coa = ConfigAwareLora.initialize(model.encoder(), s.training().lora(), s.training().seed() + 1,
                method.configAware(), keep);
        SentenceClassifier classifier = new SentenceClassifier(model.encoder(), head);
        // a fresh cache per method: quantizing the training set is part of each method's training cost
        try (QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), settings.cacheCapacity())) {
            CoaTrainer.Result r = new CoaTrainer(new ClassificationObjective(classifier, train, evaluationBatch), coa, cache).train(settings, initialSet,
                    policy, (p, d, t) -> progress.update(task.name() + ": " + method.label + " " + p, d, t));
            List<Evaluation> evaluations = new ArrayList<>();
            List<ModelQuantConfig> all = new ArrayList<>(seen);
            all.addAll(unseen);
            for (int i = 0; i < all.size(); i++) {
                ModelQuantConfig config = all.get(i);
                progress.update(task.name() + ": " + method.label + " evaluating", i, all.size());
                boolean[] correct = new boolean[test.size()];
                // evaluate what a device runs: the folded adapter
                try (NDManager scope = keep.newSubManager(); LoraAdapter folded = coa.fold(config, scope)) {
                    FineTuner.accuracy(classifier, cache.get(config), folded, test, correct);
                }
                // "unseen" is checked, not assumed: a configuration the run trained on counts as seen
                evaluations.add(new Evaluation(config, i < seen.size() || r.trainedOn().contains(config), correct));
            }
            List<TrainingSetPolicies.Round> rounds = policy instanceof TrainingSetPolicies.Archived a ? a.rounds() : List.of();
            double policySeconds = r.epochs().stream().mapToDouble(CoaTrainer.EpochReport::policySeconds).sum();
            return new TrainedShared(new MethodResult(method, r.seconds(), 0, "any", r.trainedOn().size(), r.recomputedSteps(),
                    evaluations, rounds, policySeconds, r.materializations()), coa);
        }
    }

    /** Median time to emit (fold) an adapter over random configurations, next to one per-configuration fine-tune. */
    private static Emission emission(ConfigAwareLora coa, List<MatrixSpec> specs, BenchSettings s, MethodResult perConfig,
                                     NDManager keep, Random random) {
        List<ModelQuantConfig> configs = new ArrayList<>();
        for (int i = 0; i < s.emissionSamples(); i++) configs.add(TrainingSetPolicies.randomConfiguration(specs, QuantizerKind.NF, random));
        List<Double> millis = new ArrayList<>();
        for (ModelQuantConfig c : configs) {
            long t0 = System.nanoTime();
            try (NDManager scope = keep.newSubManager(); LoraAdapter folded = coa.fold(c, scope)) {
                folded.a(folded.matrices().iterator().next()).toFloatArray(); // force the computation
            }
            millis.add((System.nanoTime() - t0) / 1e6);
        }
        Collections.sort(millis);
        double median = millis.get(millis.size() / 2);
        return new Emission(configs.size(), median, perConfig.trainSeconds() / perConfig.trainingConfigurations());
    }

    private static List<Example> sample(List<Example> split, int limit, Random random) {
        if (split.size() <= limit) return split;
        List<Example> copy = new ArrayList<>(split);
        Collections.shuffle(copy, random);
        return List.copyOf(copy.subList(0, limit));
    }
}
