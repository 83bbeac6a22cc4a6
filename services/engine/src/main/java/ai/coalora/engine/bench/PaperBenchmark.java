package ai.coalora.engine.bench;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.coa.CoaTrainer;
import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.coa.MixingStatistics;
import ai.coalora.engine.coa.TrainingSetPolicies;
import ai.coalora.engine.coa.TrainingSetPolicy;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.objective.ClassificationObjective;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import ai.coalora.engine.train.ClassifierHead;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.Progress;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * The paper's comparison (its Table 2) on one task, at this machine's scale, and the fleet it serves: per-configuration
 * LoRA, Shared-LoRA and CoA-LoRA (frozen set, random extension, search, and a blind control), all on the same pretrained
 * model, data, epochs and optimiser, each trained with every seed, evaluated on the same seen and unseen configurations
 * of the same test examples (so differences can be bootstrapped pairwise over seeds and examples), and serving the
 * same simulated fleet of devices with budgets spread over the low-bit range. This class only measures;
 * {@link PaperReport} turns the measurements into tables, intervals and plots.
 */
public final class PaperBenchmark {

    /** One method on one configuration: which test examples it got right. */
    public record Evaluation(ModelQuantConfig config, boolean seen, boolean[] testCorrect) {
        public double accuracy() {
            return PaperBenchmark.accuracy(testCorrect);
        }
    }

    /**
     * One device of the simulated fleet: its budget, the configuration a method served it, and that configuration's
     * validation and test correctness. Per-configuration LoRA serves the adapter of the largest trained budget that
     * fits (a staircase); the shared methods serve the budget-optimal allocation at the device's budget, or a cheaper
     * candidate that is clearly more accurate on validation (see {@code serveFleet}).
     */
    public record Served(double budget, ModelQuantConfig config, boolean[] validationCorrect, boolean[] testCorrect) {}

    /**
     * What the configuration-aware network does, for one trained model (null for methods without one).
     *
     * @param distanceFromIdentity mean over matrices and probe configurations of ||M - I||_F
     * @param spread               mean over matrices of the RMS distance of M(c) from its mean over configurations,
     *                             divided by the mean ||M - I||_F: 0 if M ignores the configuration
     * @param ownAccuracy          mean test accuracy over the seen and unseen configurations with their own M
     * @param swappedAccuracy      the same with each matrix's M replaced by its mean over those configurations
     */
    public record ThetaDiagnostics(
            double distanceFromIdentity, double spread, double ownAccuracy, double swappedAccuracy) {}

    /** Shared-LoRA fine-tuned one more epoch on one configuration alone: what a configuration-specific correction can add there. */
    /**
     * Shared-LoRA on one low-bit configuration; after one more epoch on that configuration alone (tuned); after one
     * more epoch over the whole training set (control, the same number of steps).
     */
    public record Headroom(
            ModelQuantConfig config, double sharedAccuracy, double tunedAccuracy, double controlAccuracy, int steps) {
        /** What training on this configuration alone adds beyond the extra steps. */
        public double specificGain() {
            return tunedAccuracy - controlAccuracy;
        }
    }

    /**
     * @param trainSeconds     wall time of training (per-configuration: the runs on the seen configurations only)
     * @param extraSeconds     per-configuration: the reference runs on the unseen configurations (not in the total)
     * @param configsServed    how many configurations the trained artifact can serve ("any" for the shared ones)
     * @param trainingConfigurations configurations trained on
     * @param evaluations      seen configurations, then unseen integer-only ones
     * @param unseenOptimal    budget-optimal allocations off the training budgets (empty for per-configuration LoRA)
     * @param fleet            one entry per fleet budget
     * @param epochs           the training epochs' reports with gradient norms per parameter group (shared methods)
     */
    public record MethodResult(
            Method method,
            double trainSeconds,
            double extraSeconds,
            String configsServed,
            int trainingConfigurations,
            int recomputedSteps,
            List<Evaluation> evaluations,
            List<Evaluation> unseenOptimal,
            List<Served> fleet,
            List<CoaTrainer.EpochReport> epochs,
            List<TrainingSetPolicies.Round> rounds,
            double policySeconds,
            int materializations,
            ThetaDiagnostics theta,
            List<Headroom> headroom) {}

    /** Every method trained with one seed. */
    public record SeedRun(long seed, List<MethodResult> methods) {
        public MethodResult method(Method m) {
            return methods.stream().filter(r -> r.method() == m).findFirst().orElse(null);
        }
    }

    /** Adapter emission (fold M into A) vs fine-tuning one LoRA. */
    public record Emission(int samples, double medianMillis, double perConfigurationFineTuneSeconds) {
        public double ratio() {
            return medianMillis / 1000.0 / perConfigurationFineTuneSeconds;
        }
    }

    /**
     * @param emission null when no configuration-aware method or no per-configuration baseline ran
     */
    public record TaskResult(
            String task,
            int trainExamples,
            int validationExamples,
            int testExamples,
            List<ModelQuantConfig> seen,
            List<ModelQuantConfig> unseen,
            List<ModelQuantConfig> unseenOptimal,
            int initialSetSize,
            BenchSettings settings,
            List<SeedRun> seeds,
            Emission emission) {
        /** The first seed's methods: the per-configuration tables describe one training run. */
        public List<MethodResult> methods() {
            return seeds.get(0).methods();
        }
    }

    private PaperBenchmark() {}

    public static TaskResult run(PretrainedModel model, TaskData task, BenchSettings s, Progress progress) {
        Random random = new Random(42);
        List<Example> trainExamples = sample(task.train(), s.trainLimit(), random);
        List<Example> testExamples = sample(task.test(), s.testLimit(), random);
        EncodedExamples train = EncodedExamples.of(model.tokenizer(), trainExamples);
        EncodedExamples test = EncodedExamples.of(model.tokenizer(), testExamples);
        EncodedExamples validation = EncodedExamples.of(model.tokenizer(), task.validation());
        EncodedExamples evaluationBatch = s.evaluationBatch() == 0
                ? validation
                : EncodedExamples.of(
                        model.tokenizer(),
                        task.validation()
                                .subList(
                                        0,
                                        Math.min(
                                                s.evaluationBatch(),
                                                task.validation().size())));

        progress.update(task.name() + ": quantization error tables", 0, 1);
        BudgetPlanner planner = BudgetPlanner.calibrate(
                model.encoder(),
                model.tokenizer(),
                task.train().stream().limit(256).map(Example::text).toList(),
                QuantizerKind.NF,
                progress); // as `quantize` does: shared cached tables
        BenchConfigurations configurations =
                BenchConfigurations.of(planner, s.seenBudgets(), s.unseenBudgets(), s.trainingSet());
        List<ModelQuantConfig> unseenOptimal = planner.configurations(s.unseenOptimalBudgets(), false);
        List<ModelQuantConfig> fleetCandidates = planner.configurations(s.fleetBudgets(), false);
        Data data = new Data(train, validation, test, evaluationBatch, configurations, unseenOptimal, fleetCandidates);

        List<SeedRun> seeds = new ArrayList<>();
        Emission emission = null;
        for (int k = 0; k < s.seeds(); k++) {
            BenchSettings seeded =
                    s.withTraining(withSeed(s.training(), s.training().seed() + k));
            String label = s.seeds() > 1 ? task.name() + " seed " + (k + 1) + "/" + s.seeds() : task.name();
            List<MethodResult> methods = new ArrayList<>();
            try (NDManager keep = model.encoder().manager().newSubManager()) {
                ConfigAwareLora last = null;
                for (Method m : s.methods()) {
                    if (m == Method.PER_CONFIGURATION) {
                        methods.add(perConfiguration(model, task, seeded, data, label, progress));
                        report(methods.get(methods.size() - 1), label, progress);
                        continue;
                    }
                    TrainedShared t = trainShared(model, task, seeded, m, data, keep, label + ": " + m.label, progress);
                    methods.add(t.result);
                    report(t.result, label, progress);
                    if (m.configAware() && m != Method.COA_BLIND) {
                        if (last != null) last.close();
                        last = t.model;
                    } else {
                        t.model.close();
                    }
                }
                MethodResult perConfig = methods.get(0).method() == Method.PER_CONFIGURATION ? methods.get(0) : null;
                if (k == 0 && last != null && perConfig != null) {
                    emission =
                            emission(last, QuantizedWeights.matrixSpecs(model.encoder()), s, perConfig, keep, random);
                }
                if (last != null) last.close();
            }
            seeds.add(new SeedRun(seeded.training().seed(), methods));
        }
        return new TaskResult(
                task.name(),
                train.size(),
                validation.size(),
                test.size(),
                configurations.seen(),
                configurations.unseen(),
                unseenOptimal,
                configurations.initialSet().size(),
                s,
                seeds,
                emission);
    }

    /** One finished method's headline as a progress line, so a long run shows its results as it goes. */
    private static void report(MethodResult r, String label, Progress progress) {
        double seen = 0, unseen = 0, fleet = 0;
        int nSeen = 0, nUnseen = 0;
        for (Evaluation e : r.evaluations()) {
            if (e.seen()) {
                seen += e.accuracy();
                nSeen++;
            } else {
                unseen += e.accuracy();
                nUnseen++;
            }
        }
        for (Served d : r.fleet())
            fleet += accuracy(d.testCorrect()) / r.fleet().size();
        progress.update(
                String.format(
                        Locale.ROOT,
                        "%s: %s: seen %.2f, unseen %.2f, F %.2f, %.0f s",
                        label,
                        r.method().label,
                        100 * seen / Math.max(1, nSeen),
                        100 * unseen / Math.max(1, nUnseen),
                        100 * fleet,
                        r.trainSeconds()),
                1,
                1);
    }

    /** The encoded splits and the configurations every method is measured on. */
    private record Data(
            EncodedExamples train,
            EncodedExamples validation,
            EncodedExamples test,
            EncodedExamples evaluationBatch,
            BenchConfigurations configurations,
            List<ModelQuantConfig> unseenOptimal,
            List<ModelQuantConfig> fleetCandidates) {}

    /**
     * One LoRA per seen and per unseen configuration, each trained by the same loop as the shared methods (one
     * configuration per step, no network) on the same data, epochs and optimiser. Its fleet is the staircase over the
     * seen budgets; a device below every seen budget gets nothing and counts as wrong on every example.
     */
    private static MethodResult perConfiguration(
            PretrainedModel model, TaskData task, BenchSettings s, Data d, String label, Progress progress) {
        List<ModelQuantConfig> seen = d.configurations().seen(),
                unseen = d.configurations().unseen();
        List<ModelQuantConfig> all = new ArrayList<>(seen);
        all.addAll(unseen);
        List<Evaluation> evaluations = new ArrayList<>();
        Map<ModelQuantConfig, boolean[]> seenValidation = new HashMap<>();
        double seenSeconds = 0, unseenSeconds = 0;
        int recomputed = 0;
        CoaSettings settings = Method.PER_CONFIGURATION.settings(s.training(), s.theta());
        for (int i = 0; i < all.size(); i++) {
            ModelQuantConfig config = all.get(i);
            boolean isSeen = i < seen.size();
            String phase = String.format(
                    "%s: per-configuration LoRA %d/%d (%.2f bits)", label, i + 1, all.size(), config.averageBits());
            try (NDManager keep = model.encoder().manager().newSubManager();
                    QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), 1)) {
                ClassifierHead head = new ClassifierHead(
                        model.encoder().config().hiddenSize(),
                        task.labels().size(),
                        s.training().seed(),
                        keep);
                ConfigAwareLora lora = ConfigAwareLora.initialize(
                        model.encoder(), s.training().lora(), s.training().seed() + 1, settings.networkOrNull(), keep);
                SentenceClassifier classifier = new SentenceClassifier(model.encoder(), head);
                CoaTrainer.Result r = new CoaTrainer(
                                new ClassificationObjective(classifier, d.train(), d.evaluationBatch()), lora, cache)
                        .train(
                                settings,
                                List.of(config),
                                TrainingSetPolicy.frozen(),
                                (p, done, total) -> progress.update(phase + " " + p, done, total));
                if (isSeen) seenSeconds += r.seconds();
                else unseenSeconds += r.seconds();
                recomputed += r.recomputedSteps();
                evaluations.add(
                        new Evaluation(config, isSeen, correct(classifier, cache, config, lora.lora(), d.test())));
                if (isSeen) seenValidation.put(config, correct(classifier, cache, config, lora.lora(), d.validation()));
            }
        }
        List<Served> fleet = new ArrayList<>();
        for (double budget : s.fleetBudgets()) {
            ModelQuantConfig best = null;
            for (int i = 0; i < seen.size(); i++) {
                if (s.seenBudgets().get(i) <= budget + 1e-9 && seen.get(i).averageBits() <= budget + 1e-9)
                    best = seen.get(i);
            }
            if (best == null) {
                fleet.add(new Served(
                        budget,
                        null,
                        new boolean[d.validation().size()],
                        new boolean[d.test().size()]));
            } else {
                fleet.add(new Served(
                        budget,
                        best,
                        seenValidation.get(best),
                        evaluations.get(seen.indexOf(best)).testCorrect()));
            }
        }
        return new MethodResult(
                Method.PER_CONFIGURATION,
                seenSeconds,
                unseenSeconds,
                Integer.toString(seen.size()),
                seen.size(),
                recomputed,
                evaluations,
                List.of(),
                fleet,
                List.of(),
                List.of(),
                0,
                all.size(),
                null,
                List.of());
    }

    private record TrainedShared(MethodResult result, ConfigAwareLora model) {}

    private static TrainedShared trainShared(
            PretrainedModel model,
            TaskData task,
            BenchSettings s,
            Method method,
            Data d,
            NDManager keep,
            String label,
            Progress progress) {
        CoaSettings settings = method.settings(s.training(), s.theta());
        // the seen configurations serve the fleet's staircase budgets: the set keeps them whatever their measured loss
        var selection = new TrainingSetPolicies.Selection(
                s.searchPosteriorMean(), Set.copyOf(d.configurations().seen()));
        TrainingSetPolicy policy =
                method.policy(s.segments(), s.candidates(), s.training().seed(), selection);
        ClassifierHead head = new ClassifierHead(
                model.encoder().config().hiddenSize(),
                task.labels().size(),
                s.training().seed(),
                keep);
        ConfigAwareLora coa = ConfigAwareLora.initialize(
                model.encoder(), s.training().lora(), s.training().seed() + 1, settings.networkOrNull(), keep);
        SentenceClassifier classifier = new SentenceClassifier(model.encoder(), head);
        // a fresh cache per method: quantizing the training set is part of each method's training cost
        try (QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), settings.cacheCapacity())) {
            CoaTrainer.Result r = new CoaTrainer(
                            new ClassificationObjective(classifier, d.train(), d.evaluationBatch()), coa, cache)
                    .train(
                            settings,
                            d.configurations().initialSet(),
                            policy,
                            (p, done, total) -> progress.update(label + " " + p, done, total));
            Map<ModelQuantConfig, boolean[]> testCache = new HashMap<>();
            List<Evaluation> evaluations = new ArrayList<>();
            List<ModelQuantConfig> all = new ArrayList<>(d.configurations().seen());
            all.addAll(d.configurations().unseen());
            int seenCount = d.configurations().seen().size();
            for (int i = 0; i < all.size(); i++) {
                ModelQuantConfig config = all.get(i);
                progress.update(label + " evaluating", i, all.size());
                // "unseen" is checked, not assumed: a configuration the run trained on counts as seen
                evaluations.add(new Evaluation(
                        config,
                        i < seenCount || r.trainedOn().contains(config),
                        testCache.computeIfAbsent(
                                config, c -> foldedCorrect(coa, classifier, cache, c, d.test(), keep))));
            }
            List<Evaluation> unseenOptimal = new ArrayList<>();
            for (ModelQuantConfig config : d.unseenOptimal()) {
                unseenOptimal.add(new Evaluation(
                        config,
                        r.trainedOn().contains(config),
                        testCache.computeIfAbsent(
                                config, c -> foldedCorrect(coa, classifier, cache, c, d.test(), keep))));
            }
            List<Served> fleet = serveFleet(s, d, coa, classifier, cache, testCache, keep, label, progress);
            ThetaDiagnostics diagnostics = coa.configAware()
                    ? thetaDiagnostics(coa, classifier, cache, all, d.fleetCandidates(), evaluations, d.test(), keep)
                    : null;
            List<Headroom> headroom = method == Method.SHARED_LORA && s.headroom()
                    ? headroom(model, task, s, d, coa, head, testCache, keep, label, progress)
                    : List.of();
            List<TrainingSetPolicies.Round> rounds =
                    policy instanceof TrainingSetPolicies.Archived a ? a.rounds() : List.of();
            double policySeconds = r.epochs().stream()
                    .mapToDouble(CoaTrainer.EpochReport::policySeconds)
                    .sum();
            return new TrainedShared(
                    new MethodResult(
                            method,
                            r.seconds(),
                            0,
                            "any",
                            r.trainedOn().size(),
                            r.recomputedSteps(),
                            evaluations,
                            unseenOptimal,
                            fleet,
                            r.epochs(),
                            rounds,
                            policySeconds,
                            r.materializations(),
                            diagnostics,
                            headroom),
                    coa);
        }
    }

    /**
     * Each device gets the budget-optimal allocation at its own budget (the richest candidate that fits), unless a
     * cheaper candidate is more accurate on validation by more than the standard error of that paired difference;
     * then the most accurate such one. Validation chooses, the test set only scores the choice. A plain arg max over a
     * dozen candidates on a few hundred examples is mostly noise: one lucky low-bit candidate would be served to
     * every richer device.
     */
    private static List<Served> serveFleet(
            BenchSettings s,
            Data d,
            ConfigAwareLora coa,
            SentenceClassifier classifier,
            QuantizedWeightCache cache,
            Map<ModelQuantConfig, boolean[]> testCache,
            NDManager keep,
            String label,
            Progress progress) {
        Map<ModelQuantConfig, boolean[]> validation = new HashMap<>();
        List<ModelQuantConfig> candidates = d.fleetCandidates();
        for (int i = 0; i < candidates.size(); i++) {
            progress.update(label + " serving the fleet", i, candidates.size());
            ModelQuantConfig c = candidates.get(i);
            if (validation.containsKey(c)) continue;
            validation.put(c, foldedCorrect(coa, classifier, cache, c, d.validation(), keep));
        }
        List<Served> fleet = new ArrayList<>();
        for (double budget : s.fleetBudgets()) {
            ModelQuantConfig chosen = choose(candidates, validation, budget);
            fleet.add(
                    chosen == null
                            ? new Served(
                                    budget,
                                    null,
                                    new boolean[d.validation().size()],
                                    new boolean[d.test().size()])
                            : new Served(
                                    budget,
                                    chosen,
                                    validation.get(chosen),
                                    testCache.computeIfAbsent(
                                            chosen, c -> foldedCorrect(coa, classifier, cache, c, d.test(), keep))));
        }
        return fleet;
    }

    /** The serving rule of {@link #serveFleet} for one budget; null if no candidate fits. */
    static ModelQuantConfig choose(
            List<ModelQuantConfig> candidates, Map<ModelQuantConfig, boolean[]> validation, double budget) {
        ModelQuantConfig own = null;
        for (ModelQuantConfig c : candidates) {
            if (c.averageBits() <= budget + 1e-9 && (own == null || c.averageBits() > own.averageBits())) own = c;
        }
        if (own == null) return null;
        ModelQuantConfig chosen = own;
        double bestGain = 0;
        for (ModelQuantConfig c : candidates) {
            if (c == own || c.averageBits() > budget + 1e-9) continue;
            double[] gain = pairedGain(validation.get(c), validation.get(own));
            if (gain[0] > gain[1] && gain[0] > bestGain) {
                chosen = c;
                bestGain = gain[0];
            }
        }
        return chosen;
    }

    /** Mean of a - b over examples (1 right, 0 wrong) and its standard error. */
    static double[] pairedGain(boolean[] a, boolean[] b) {
        int n = a.length;
        double sum = 0, sumSq = 0;
        for (int i = 0; i < n; i++) {
            int diff = (a[i] ? 1 : 0) - (b[i] ? 1 : 0);
            sum += diff;
            sumSq += diff * diff;
        }
        double mean = sum / n, variance = n > 1 ? (sumSq - n * mean * mean) / (n - 1) : 0;
        return new double[] {mean, Math.sqrt(Math.max(0, variance) / n)};
    }

    /** M's distance from I and spread over the probe configurations, and the swap test on the seen and unseen ones. */
    private static ThetaDiagnostics thetaDiagnostics(
            ConfigAwareLora coa,
            SentenceClassifier classifier,
            QuantizedWeightCache cache,
            List<ModelQuantConfig> evaluated,
            List<ModelQuantConfig> fleetCandidates,
            List<Evaluation> own,
            EncodedExamples test,
            NDManager keep) {
        Set<ModelQuantConfig> probes = new LinkedHashSet<>(evaluated);
        probes.addAll(fleetCandidates);
        try (NDManager scope = keep.newSubManager()) {
            MixingStatistics stats = MixingStatistics.of(coa, List.copyOf(probes), scope);
            double ownAccuracy = 0, swapped = 0;
            for (int i = 0; i < evaluated.size(); i++) {
                ownAccuracy += own.get(i).accuracy() / evaluated.size();
                boolean[] correct = new boolean[test.size()];
                FineTuner.accuracy(
                        classifier, cache.get(evaluated.get(i)), coa.withMixing(stats.mean()), test, correct);
                swapped += accuracy(correct) / evaluated.size();
            }
            return new ThetaDiagnostics(stats.distanceFromIdentity(), stats.spread(), ownAccuracy, swapped);
        }
    }

    /**
     * The headroom test: copies of the trained Shared-LoRA and head, fine-tuned one more epoch on each seen
     * configuration at or below the low-bit fleet's top budget alone (same loop, learning rate and schedule), then
     * tested on that configuration. The control gets the same extra epoch spread over the whole training set, so
     * tuned minus control is what a configuration-specific correction can add there, with the effect of more steps
     * taken out.
     */
    private static List<Headroom> headroom(
            PretrainedModel model,
            TaskData task,
            BenchSettings s,
            Data d,
            ConfigAwareLora shared,
            ClassifierHead sharedHead,
            Map<ModelQuantConfig, boolean[]> testCache,
            NDManager keep,
            String label,
            Progress progress) {
        List<ModelQuantConfig> low = new ArrayList<>();
        for (int i = 0; i < d.configurations().seen().size(); i++) {
            if (s.seenBudgets().get(i) <= s.fleetLowMax() + 1e-9)
                low.add(d.configurations().seen().get(i));
        }
        if (low.isEmpty()) return List.of();
        int steps =
                (d.train().size() + s.training().batchSize() - 1) / s.training().batchSize();
        List<Double> control = tunedCopyAccuracies(
                model,
                task,
                s,
                d,
                shared,
                sharedHead,
                d.configurations().initialSet(),
                low,
                keep,
                label + " headroom control",
                progress);
        List<Headroom> out = new ArrayList<>();
        for (int i = 0; i < low.size(); i++) {
            ModelQuantConfig config = low.get(i);
            double tuned = tunedCopyAccuracies(
                            model,
                            task,
                            s,
                            d,
                            shared,
                            sharedHead,
                            List.of(config),
                            List.of(config),
                            keep,
                            label + " headroom",
                            progress)
                    .get(0);
            out.add(new Headroom(config, accuracy(testCache.get(config)), tuned, control.get(i), steps));
        }
        return out;
    }

    /** A copy of the trained Shared-LoRA and head, trained one more epoch on {@code trainOn}, tested on each of {@code testOn}. */
    private static List<Double> tunedCopyAccuracies(
            PretrainedModel model,
            TaskData task,
            BenchSettings s,
            Data d,
            ConfigAwareLora shared,
            ClassifierHead sharedHead,
            List<ModelQuantConfig> trainOn,
            List<ModelQuantConfig> testOn,
            NDManager keep,
            String phase,
            Progress progress) {
        try (NDManager scope = keep.newSubManager();
                QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), 1)) {
            ClassifierHead head = new ClassifierHead(
                    model.encoder().config().hiddenSize(),
                    task.labels().size(),
                    sharedHead.weight().toFloatArray(),
                    sharedHead.bias().toFloatArray(),
                    scope);
            Map<LinearId, NDArray> a = new TreeMap<>(), b = new TreeMap<>();
            for (var id : shared.lora().matrices()) {
                a.put(id, LoraAdapter.trainable(shared.lora().a(id).duplicate()));
                b.put(id, LoraAdapter.trainable(shared.lora().b(id).duplicate()));
            }
            ConfigAwareLora copy =
                    new ConfigAwareLora(LoraAdapter.of(shared.lora().spec(), a, b, scope), null);
            SentenceClassifier classifier = new SentenceClassifier(model.encoder(), head);
            new CoaTrainer(new ClassificationObjective(classifier, d.train(), d.evaluationBatch()), copy, cache)
                    .train(
                            new CoaSettings(s.training().withEpochs(1), 1, false, 1),
                            trainOn,
                            TrainingSetPolicy.frozen(),
                            (p, done, total) -> progress.update(phase + " " + p, done, total));
            List<Double> out = new ArrayList<>();
            for (ModelQuantConfig config : testOn)
                out.add(accuracy(correct(classifier, cache, config, copy.lora(), d.test())));
            return out;
        }
    }

    private static boolean[] foldedCorrect(
            ConfigAwareLora coa,
            SentenceClassifier classifier,
            QuantizedWeightCache cache,
            ModelQuantConfig config,
            EncodedExamples data,
            NDManager keep) {
        boolean[] correct = new boolean[data.size()];
        scoreFolded(coa, classifier, cache, config, data, correct, keep);
        return correct;
    }

    /**
     * Scores what a device runs: the configuration's quantized weights with the folded adapter merged in (the same
     * function as the folded adapter beside the weights, up to float rounding, at the cost of the unadapted model).
     */
    private static FineTuner.Scores scoreFolded(
            ConfigAwareLora coa,
            SentenceClassifier classifier,
            QuantizedWeightCache cache,
            ModelQuantConfig config,
            EncodedExamples data,
            boolean[] correct,
            NDManager keep) {
        try (NDManager scope = keep.newSubManager();
                LoraAdapter folded = coa.fold(config, scope)) {
            return FineTuner.evaluate(classifier, folded.mergedInto(cache.get(config), scope), null, data, correct);
        }
    }

    private static boolean[] correct(
            SentenceClassifier classifier,
            QuantizedWeightCache cache,
            ModelQuantConfig config,
            Adapter adapter,
            EncodedExamples data) {
        boolean[] correct = new boolean[data.size()];
        FineTuner.accuracy(classifier, cache.get(config), adapter, data, correct);
        return correct;
    }

    static double accuracy(boolean[] correct) {
        int n = 0;
        for (boolean c : correct) if (c) n++;
        return (double) n / correct.length;
    }

    /** Median time to emit (fold) an adapter over random configurations, next to one per-configuration fine-tune. */
    private static Emission emission(
            ConfigAwareLora coa,
            List<MatrixSpec> specs,
            BenchSettings s,
            MethodResult perConfig,
            NDManager keep,
            Random random) {
        List<ModelQuantConfig> configs = new ArrayList<>();
        for (int i = 0; i < s.emissionSamples(); i++)
            configs.add(TrainingSetPolicies.randomConfiguration(specs, QuantizerKind.NF, random));
        List<Double> millis = new ArrayList<>();
        for (ModelQuantConfig c : configs) {
            long t0 = System.nanoTime();
            try (NDManager scope = keep.newSubManager();
                    LoraAdapter folded = coa.fold(c, scope)) {
                folded.a(folded.matrices().iterator().next()).toFloatArray(); // force the computation
            }
            millis.add((System.nanoTime() - t0) / 1e6);
        }
        Collections.sort(millis);
        double median = millis.get(millis.size() / 2);
        return new Emission(configs.size(), median, perConfig.trainSeconds() / perConfig.trainingConfigurations());
    }

    private static FineTuneSettings withSeed(FineTuneSettings t, long seed) {
        return new FineTuneSettings(
                t.epochs(), t.batchSize(), t.learningRate(), t.weightDecay(), t.clipNorm(), seed, t.lora());
    }

    private static List<Example> sample(List<Example> split, int limit, Random random) {
        if (limit == 0 || split.size() <= limit) return split;
        List<Example> copy = new ArrayList<>(split);
        Collections.shuffle(copy, random);
        return List.copyOf(copy.subList(0, limit));
    }
}
