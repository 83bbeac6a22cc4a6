package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.coa.CoaTrainer;
import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.coa.TrainingSetPolicies;
import ai.coalora.engine.coa.TrainingSetPolicy;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.objective.TrainingObjective;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.Progress;
import ai.djl.ndarray.NDManager;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Training a bundle, the part no architecture changes: the training-set policy (the initial set kept, or grown by
 * the Pareto search), CoA-LoRA training, the front (the final set scored with folded adapters, in average-bits order)
 * and the manifest's training record. An architecture brings what it alone knows: its {@link TrainingObjective}, how
 * a front point is scored, and its manifest ({@link BundleTraining} for a classifier on an encoder,
 * {@link DecoderBundleTraining} for language modelling on a decoder). A third architecture brings the same three.
 *
 * @param settings   epochs, optimiser, LoRA, the network (or none: Shared-LoRA)
 * @param segments   bit segments U of the search
 * @param candidates configurations the search measures per epoch; 0 trains on the initial set without searching
 */
record CoaBundleRun(CoaSettings settings, int segments, int candidates) {

    /** What a run produced: the trainer's result, the scored front and the record for the manifest. */
    record Trained<P>(CoaTrainer.Result result, List<P> front, BundleManifest.Training training) {}

    /** Where a warm-started run came from; null fields for a run from scratch. */
    record Lineage(String warmStartFrom, Integer extraConfigurations) {
        static final Lineage SCRATCH = new Lineage(null, null);
    }

    /**
     * Trains {@code coa} on {@code objective} from {@code initial}, then scores the final set with {@code scorer}.
     * Timing goes on {@code timer} ({@link PhaseTimer#TRAINING}, {@link PhaseTimer#SEARCH}, {@link PhaseTimer#FRONT}).
     */
    <P> Trained<P> train(
            TrainingObjective objective,
            ConfigAwareLora coa,
            QuantizedWeightCache cache,
            NDManager scope,
            List<ModelQuantConfig> initial,
            FrontScoring.Scorer<P> scorer,
            ToDoubleFunction<P> averageBits,
            Lineage lineage,
            Progress progress,
            PhaseTimer timer) {
        TrainingSetPolicy policy = TrainingSetPolicies.forTraining(
                segments, candidates, settings.training().seed());
        CoaTrainer.Result r = new CoaTrainer(objective, coa, cache).train(settings, initial, policy, progress);
        timer.markTraining(r);
        List<P> front = sortedFront(r.finalSet(), coa, cache, scope, scorer, averageBits, progress);
        timer.mark(PhaseTimer.FRONT);
        var t = settings.training();
        BundleManifest.Training training = new BundleManifest.Training(
                t.epochs(),
                t.batchSize(),
                t.learningRate(),
                t.weightDecay(),
                t.seed(),
                settings.configsPerStep(),
                policy.name(),
                initial.size(),
                segments,
                r.trainedOn().size(),
                r.seconds(),
                r.recomputedSteps(),
                Instant.now().toString(),
                lineage.warmStartFrom(),
                lineage.extraConfigurations(),
                timer.seconds());
        return new Trained<>(r, front, training);
    }

    /** The record of a bundle nothing was trained for: 0 epochs, policy {@code untrained}, no time. */
    BundleManifest.Training untrained(int initialConfigurations) {
        var t = settings.training();
        return new BundleManifest.Training(
                0,
                t.batchSize(),
                t.learningRate(),
                t.weightDecay(),
                t.seed(),
                settings.configsPerStep(),
                "untrained",
                initialConfigurations,
                segments,
                0,
                0,
                0,
                Instant.now().toString(),
                null,
                null,
                null);
    }

    /** {@code set} scored with the folded adapters of {@code coa}, in average-bits order. */
    static <P> List<P> sortedFront(
            List<ModelQuantConfig> set,
            ConfigAwareLora coa,
            QuantizedWeightCache cache,
            NDManager scope,
            FrontScoring.Scorer<P> scorer,
            ToDoubleFunction<P> averageBits,
            Progress progress) {
        List<P> front = new ArrayList<>(FrontScoring.score(set, coa, cache, scope, progress, scorer));
        front.sort(Comparator.comparingDouble(averageBits));
        return front;
    }
}
