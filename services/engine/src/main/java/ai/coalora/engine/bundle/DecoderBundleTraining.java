package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.LanguageModelLoss;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lm.TokenWindows;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.objective.LanguageModelObjective;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code coalora train --model DIR}: CoA-LoRA on a decoder with the language-modelling objective. A task's texts are
 * the adaptation domain: its train split cut into windows is what the adapter learns, its validation split both drives
 * the Pareto search (the first {@code evaluationWindows} windows) and scores the final training set (the bundle's front,
 * {@code validationWindows} windows, each configuration with its folded adapter, as a device runs it). The planner is
 * calibrated on the training windows; the initial set is its grid of budget-optimal configurations.
 *
 * @param seqLen            tokens per window
 * @param trainWindows      training windows (0: all the train split gives)
 * @param evaluationWindows validation windows the search measures configurations on
 * @param validationWindows validation windows the front is scored on (0: all)
 * @param initialGrid       budgets of the initial set over 2.25..7.25 (paper: 50)
 * @param segments          bit segments U (paper: 40)
 * @param candidates        configurations the search measures per epoch
 */
public record DecoderBundleTraining(
        CoaSettings settings,
        int seqLen,
        int trainWindows,
        int evaluationWindows,
        int validationWindows,
        int initialGrid,
        int segments,
        int candidates) {

    /** The scale of {@code bench paper --model}'s full run: 64-token windows, 2 epochs, batch 16, 24 initial budgets. */
    public static DecoderBundleTraining defaults() {
        FineTuneSettings t = FineTuneSettings.defaults().withEpochs(2).withBatchSize(16);
        return new DecoderBundleTraining(
                new CoaSettings(t, 2, true, CoaSettings.DEFAULT_CACHE_CAPACITY), 64, 0, 24, 96, 24, 20, 8);
    }

    public DecoderBundleTraining {
        if (seqLen < 2) throw new IllegalArgumentException("windows need at least 2 tokens, got " + seqLen);
        if (trainWindows < 0 || validationWindows < 0 || evaluationWindows < 1) {
            throw new IllegalArgumentException("window counts must be >= 0 (evaluation windows >= 1)");
        }
        if (initialGrid < 2 || segments < 1 || candidates < 0) {
            throw new IllegalArgumentException("initial grid >= 2, segments >= 1 and candidates >= 0 required");
        }
    }

    /** Loads the decoder folder {@code modelDir} (config, weights, tokenizer.json), trains and writes the bundle. */
    public DecoderBundleManifest run(Path modelDir, TaskData task, Path out, Progress progress) throws IOException {
        return run(modelDir, task, out, progress, new PhaseTimer());
    }

    /** {@link #run(Path, TaskData, Path, Progress)}, timing each phase on {@code timer} (reading the folder is {@link PhaseTimer#LOADING}). */
    public DecoderBundleManifest run(Path modelDir, TaskData task, Path out, Progress progress, PhaseTimer timer)
            throws IOException {
        DecoderBundleManifest.BaseModel base =
                DecoderBundleManifest.BaseModel.of(modelDir); // fails early on a bad folder
        BpeTokenizer tokenizer = BpeTokenizer.load(modelDir.resolve(Pretraining.TOKENIZER_FILE));
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.load(modelDir, manager)) {
            timer.mark(PhaseTimer.LOADING);
            return run(decoder, tokenizer, base, task, out, progress, timer, null);
        }
    }

    /** Trains on {@code decoder} (the model {@code base} identifies) and writes the bundle to {@code out}. */
    public DecoderBundleManifest run(
            LlamaDecoder decoder,
            BpeTokenizer tokenizer,
            DecoderBundleManifest.BaseModel base,
            TaskData task,
            Path out,
            Progress progress)
            throws IOException {
        return run(decoder, tokenizer, base, task, out, progress, new PhaseTimer(), null);
    }

    /**
     * Trains on {@code decoder}, timing each phase on {@code timer} (the manifest's training record holds every phase
     * but {@link PhaseTimer#WRITING}), and continues training from {@code warm}'s parent bundle (null: from scratch): its shared LoRA and network instead of
     * a fresh initialisation, its extra configurations and budgets added to the initial set. The manifest records the
     * parent's model version and how many configurations joined, as an encoder's warm start does.
     */
    public DecoderBundleManifest run(
            LlamaDecoder decoder,
            BpeTokenizer tokenizer,
            DecoderBundleManifest.BaseModel base,
            TaskData task,
            Path out,
            Progress progress,
            PhaseTimer timer,
            DecoderWarmStart warm)
            throws IOException {
        if (task.train().isEmpty() || task.validation().isEmpty()) {
            throw new IllegalArgumentException("task " + task.name() + " needs non-empty train and validation splits");
        }
        if (seqLen > decoder.config().maxPositions()) { // before any work, rather than at the first forward pass
            throw new IllegalArgumentException(
                    "windows of " + seqLen + " tokens exceed the model's max_position_embeddings "
                            + decoder.config().maxPositions());
        }
        List<ModelQuantConfig> extras = List.of();
        if (warm != null) { // before any work: a parent that cannot continue this training is refused at once
            warm.checkCompatible(base, seqLen, settings);
            extras = warm.extras(decoder);
        }
        TokenWindows train = TokenWindows.of(tokenizer, Example.texts(task.train()), seqLen, trainWindows);
        TokenWindows validation =
                TokenWindows.of(tokenizer, Example.texts(task.validation()), seqLen, validationWindows);
        TokenWindows evaluation =
                TokenWindows.of(tokenizer, Example.texts(task.validation()), seqLen, evaluationWindows);
        timer.mark(PhaseTimer.ENCODING);

        progress.update("quantization error tables", 0, 1);
        BudgetPlanner planner = BudgetPlanner.calibrate(decoder, train, QuantizerKind.NF, progress);
        Set<ModelQuantConfig> initialSet = new LinkedHashSet<>(planner.initialSet(initialGrid));
        int gridConfigurations = initialSet.size();
        initialSet.addAll(extras); // a configuration already in the grid is trained on once
        if (warm != null) initialSet.addAll(WarmStart.budgetConfigurations(planner, warm.extraBudgets()));
        List<ModelQuantConfig> initial = List.copyOf(initialSet);
        timer.mark(PhaseTimer.CALIBRATION);
        var t = settings.training();
        try (NDManager scope = decoder.manager().newSubManager();
                QuantizedWeightCache cache = new QuantizedWeightCache(decoder, settings.cacheCapacity())) {
            // owned by scope and freed with it
            ConfigAwareLora coa = warm == null
                    ? ConfigAwareLora.initialize(decoder, t.lora(), t.seed() + 1, settings.networkOrNull(), scope)
                    : warm.parent().instantiateTrainable(decoder, scope).model();
            CoaBundleRun.Trained<DecoderBundleManifest.FrontPoint> trained = new CoaBundleRun(
                            settings, segments, candidates)
                    .train(
                            new LanguageModelObjective(decoder, train, evaluation),
                            coa,
                            cache,
                            scope,
                            initial,
                            // the perplexity a device sees: the configuration with its folded adapter
                            (c, merged) -> DecoderBundleManifest.FrontPoint.of(
                                    c, LanguageModelLoss.meanLoss(decoder, validation, merged, null)),
                            DecoderBundleManifest.FrontPoint::averageBits,
                            warm == null
                                    ? CoaBundleRun.Lineage.SCRATCH
                                    : new CoaBundleRun.Lineage(
                                            warm.parentVersion(), initial.size() - gridConfigurations),
                            progress,
                            timer);
            DecoderBundleManifest manifest = new DecoderBundleManifest(
                    DecoderBundleManifest.FORMAT,
                    base,
                    new DecoderBundleManifest.Task(task.name(), task.sourceSha256(), train.count(), validation.count()),
                    t.lora().rank(),
                    t.lora().alpha(),
                    settings.configAware(),
                    QuantizerKind.NF.jsonName(),
                    seqLen,
                    trained.front(),
                    trained.training(),
                    null);
            DecoderBundleManifest written = DecoderBundle.write(out, manifest, DecoderBundle.tensorsOf(coa));
            timer.mark(PhaseTimer.WRITING);
            return written;
        }
    }
}
