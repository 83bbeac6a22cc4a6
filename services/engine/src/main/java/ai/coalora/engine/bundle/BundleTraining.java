package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.objective.ClassificationObjective;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import ai.coalora.engine.train.ClassifierHead;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.Progress;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code coalora train}: CoA-LoRA training on a task, from the initial grid of budget-optimal configurations
 * (kept as it is, or grown by the Pareto search), then the final training set measured on the validation split
 * (the bundle's front), written as a {@link ModelBundle}.
 *
 * @param initialGrid budgets of the initial set over 2.25..7.25 (paper: 50)
 * @param segments    bit segments U (paper: 40)
 * @param candidates  configurations the search measures per epoch; 0 (the default) trains on the initial set without searching
 * @param evaluationBatch validation examples of the search's fixed evaluation batch
 */
public record BundleTraining(CoaSettings settings, int initialGrid, int segments, int candidates, int evaluationBatch) {

    public static BundleTraining defaults() {
        return new BundleTraining(CoaSettings.defaults(), 50, 40, 0, 128);
    }

    public BundleTraining {
        if (initialGrid < 2 || segments < 1 || candidates < 0 || evaluationBatch < 1) {
            throw new IllegalArgumentException(
                    "initial grid >= 2, segments and evaluation batch >= 1, candidates >= 0 required");
        }
    }

    public BundleManifest run(PretrainedModel model, TaskData task, int maxLength, Path out, Progress progress)
            throws IOException {
        return run(model, task, maxLength, out, progress, null);
    }

    /**
     * Trains and writes a bundle. With a {@link WarmStart} (telemetry-driven retraining), the shared LoRA, the
     * configuration-aware network and the head start from the parent bundle's trained values (copies: the parent is
     * not modified) instead of a fresh initialisation, and the warm start's extra configurations join the initial
     * training set (checked against the model, deduplicated). The parent must have been trained on this base model,
     * with the task's labels, the same LoRA rank and alpha and the same kind of model; otherwise this is an
     * IllegalArgumentException, before any work. The manifest's training record names the parent
     * ({@code warmStartFrom}) and counts the extra configurations.
     *
     * @param warm null trains from scratch
     */
    public BundleManifest run(
            PretrainedModel model, TaskData task, int maxLength, Path out, Progress progress, WarmStart warm)
            throws IOException {
        return run(model, task, maxLength, out, progress, warm, new PhaseTimer());
    }

    /**
     * {@link #run(PretrainedModel, TaskData, int, Path, Progress, WarmStart)}, timing each phase on {@code timer}: a caller
     * that loaded the data and the model since creating it marks {@link PhaseTimer#LOADING} first. The manifest's training
     * record holds every phase but {@link PhaseTimer#WRITING}, which the timer has once this returns.
     */
    public BundleManifest run(
            PretrainedModel model,
            TaskData task,
            int maxLength,
            Path out,
            Progress progress,
            WarmStart warm,
            PhaseTimer timer)
            throws IOException {
        if (task.train().isEmpty() || task.validation().isEmpty()) {
            throw new IllegalArgumentException("task " + task.name() + " needs non-empty train and validation splits");
        }
        List<ModelQuantConfig> extras = List.of();
        if (warm != null) {
            warm.checkCompatible(model.encoder(), task, settings);
            extras = warm.extras(model.encoder());
        }
        EncodedExamples train = EncodedExamples.of(model.tokenizer(), task.train());
        EncodedExamples validation = EncodedExamples.of(model.tokenizer(), task.validation());
        EncodedExamples evaluation = EncodedExamples.of(
                model.tokenizer(),
                task.validation()
                        .subList(0, Math.min(evaluationBatch, task.validation().size())));
        timer.mark(PhaseTimer.ENCODING);
        BudgetPlanner planner = BudgetPlanner.calibrate(
                model.encoder(),
                model.tokenizer(),
                task.train().stream().limit(256).map(Example::text).toList(),
                QuantizerKind.NF,
                progress);
        Set<ModelQuantConfig> initialSet = new LinkedHashSet<>(planner.initialSet(initialGrid));
        int gridConfigurations = initialSet.size();
        initialSet.addAll(extras); // a configuration already in the grid is trained on once
        if (warm != null) initialSet.addAll(WarmStart.budgetConfigurations(planner, warm.extraBudgets()));
        List<ModelQuantConfig> initial = List.copyOf(initialSet);
        timer.mark(PhaseTimer.CALIBRATION);
        try (NDManager scope = model.encoder().manager().newSubManager();
                QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), settings.cacheCapacity())) {
            // everything below is owned by scope and freed with it
            ClassifierHead head;
            ConfigAwareLora coa;
            if (warm == null) {
                head = freshHead(model, task, scope);
                coa = freshModel(model, scope);
            } else {
                ModelBundle.Instance start = warm.parent().instantiateTrainable(model.encoder(), scope);
                head = start.head();
                coa = start.model();
            }
            SentenceClassifier classifier = new SentenceClassifier(model.encoder(), head);
            CoaBundleRun.Trained<BundleManifest.FrontPoint> trained = run().train(
                            new ClassificationObjective(classifier, train, evaluation),
                            coa,
                            cache,
                            scope,
                            initial,
                            frontScorer(classifier, validation),
                            BundleManifest.FrontPoint::averageBits,
                            warm == null
                                    ? CoaBundleRun.Lineage.SCRATCH
                                    : new CoaBundleRun.Lineage(
                                            warm.parentVersion(), initial.size() - gridConfigurations),
                            progress,
                            timer);
            BundleManifest manifest = manifest(model, task, maxLength, trained.front(), trained.training());
            BundleManifest written = ModelBundle.write(out, manifest, ModelBundle.tensorsOf(coa, head));
            timer.mark(PhaseTimer.WRITING);
            return written;
        }
    }

    /**
     * Writes the bundle a training from scratch starts from, with nothing trained: the shared LoRA, the
     * configuration-aware network and the head as these settings initialize them, and {@code front} measured on the
     * task's validation split as {@link #run} measures its front. A real bundle in seconds, not a good one: for what
     * handles bundles without caring how well they classify (registering, packaging for devices, warm starts).
     * The manifest records 0 epochs and no trained configurations.
     */
    public BundleManifest untrained(
            PretrainedModel model, TaskData task, int maxLength, List<ModelQuantConfig> front, Path out)
            throws IOException {
        if (task.validation().isEmpty() || front.isEmpty()) {
            throw new IllegalArgumentException(
                    "an untrained bundle needs a validation split and a front to measure on it");
        }
        for (ModelQuantConfig c : front) QuantizedWeights.checkMatches(model.encoder(), c);
        EncodedExamples validation = EncodedExamples.of(model.tokenizer(), task.validation());
        try (NDManager scope = model.encoder().manager().newSubManager();
                QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), settings.cacheCapacity())) {
            ClassifierHead head = freshHead(model, task, scope);
            ConfigAwareLora coa = freshModel(model, scope);
            SentenceClassifier classifier = new SentenceClassifier(model.encoder(), head);
            List<BundleManifest.FrontPoint> scored = CoaBundleRun.sortedFront(
                    List.copyOf(new LinkedHashSet<>(front)),
                    coa,
                    cache,
                    scope,
                    frontScorer(classifier, validation),
                    BundleManifest.FrontPoint::averageBits,
                    Progress.NONE);
            BundleManifest manifest = manifest(model, task, maxLength, scored, run().untrained(front.size()));
            return ModelBundle.write(out, manifest, ModelBundle.tensorsOf(coa, head));
        }
    }

    private CoaBundleRun run() {
        return new CoaBundleRun(settings, segments, candidates);
    }

    private ClassifierHead freshHead(PretrainedModel model, TaskData task, NDManager scope) {
        return new ClassifierHead(
                model.encoder().config().hiddenSize(),
                task.labels().size(),
                settings.training().seed(),
                scope);
    }

    private ConfigAwareLora freshModel(PretrainedModel model, NDManager scope) {
        return ConfigAwareLora.initialize(
                model.encoder(),
                settings.training().lora(),
                settings.training().seed() + 1,
                settings.networkOrNull(),
                scope);
    }

    /** A front point: the configuration's validation accuracy and loss with its folded adapter merged in. */
    private static FrontScoring.Scorer<BundleManifest.FrontPoint> frontScorer(
            SentenceClassifier classifier, EncodedExamples validation) {
        return (c, merged) -> {
            FineTuner.Scores scores = FineTuner.evaluate(classifier, merged, null, validation, null);
            return BundleManifest.FrontPoint.of(c, scores.accuracy(), scores.loss());
        };
    }

    private BundleManifest manifest(
            PretrainedModel model,
            TaskData task,
            int maxLength,
            List<BundleManifest.FrontPoint> front,
            BundleManifest.Training training) {
        var t = settings.training();
        return new BundleManifest(
                BundleManifest.FORMAT,
                new BundleManifest.BaseModel(
                        "sentence-transformers/all-MiniLM-L6-v2",
                        MiniLmArtifact.ONNX_SHA256,
                        model.encoder().config().numLayers(),
                        model.encoder().config().hiddenSize()),
                new BundleManifest.Task(
                        task.name(),
                        task.labels(),
                        task.sourceSha256(),
                        task.train().size()),
                t.lora().rank(),
                t.lora().alpha(),
                settings.configAware(),
                QuantizerKind.NF.jsonName(),
                maxLength,
                front,
                training,
                null);
    }
}
