package ai.coalora.engine.coa;

import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.objective.TrainingObjective;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.AdamW;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Joint training of the shared LoRA, the configuration-aware network and the task head, if the objective has
 * one (method.md "Training"): every step takes one mini-batch and {@link CoaSettings#configsPerStep()} configurations
 * from the current training set, runs forward and backward for each on the same batch (gradients
 * accumulate, each loss weighted 1/k), clips and takes one AdamW step. After every epoch but the last,
 * the {@link TrainingSetPolicy} chooses the next training set. With a one-configuration set, one configuration
 * per step and no network, this is the per-configuration (QLoRA-style) baseline.
 */
public final class CoaTrainer {

    /** Tries per step before a step whose gradient stays non-finite is skipped (see FineTuner). */
    static final int MAX_ATTEMPTS = 3;

    /**
     * @param gradientNorms mean gradient norm (before clipping) per parameter group over the epoch's steps: "head",
     *                      "lora.A", "lora.B", "theta" (theta's decayed weights and the rest together)
     */
    public record EpochReport(
            int epoch,
            double trainLoss,
            int trainingSetSize,
            double trainSeconds,
            double policySeconds,
            Map<String, Double> gradientNorms) {}

    /**
     * @param trainedOn every configuration that any step trained on ("seen"), in first-use order
     * @param finalSet  the training set after the last epoch
     */
    public record Result(
            List<EpochReport> epochs,
            List<ModelQuantConfig> finalSet,
            Set<ModelQuantConfig> trainedOn,
            double seconds,
            long trainTokens,
            int materializations,
            int recomputedSteps,
            int skippedSteps) {}

    private final TrainingObjective objective;
    private final ConfigAwareLora model;
    private final QuantizedWeightCache cache;

    public CoaTrainer(TrainingObjective objective, ConfigAwareLora model, QuantizedWeightCache cache) {
        this.objective = objective;
        this.model = model;
        this.cache = cache;
    }

    public Result train(
            CoaSettings settings, List<ModelQuantConfig> initialSet, TrainingSetPolicy policy, Progress progress) {
        if (initialSet.size() < settings.configsPerStep()) {
            throw new IllegalArgumentException("training set has " + initialSet.size()
                    + " configurations, a step needs " + settings.configsPerStep());
        }
        FineTuneSettings t = settings.training();
        long start = System.nanoTime();
        try (NDManager manager = objective.manager().newSubManager();
                AdamW optimizer = new AdamW(groups(settings), t.clipNorm(), manager)) {
            int stepsPerEpoch = (objective.size() + t.batchSize() - 1) / t.batchSize();
            int totalSteps = stepsPerEpoch * t.epochs();
            int thetaStart = (int) Math.round(totalSteps * settings.theta().startFraction());
            boolean hasTheta = model.network() != null;
            float thetaScale = settings.theta().learningRate(t.learningRate()) / t.learningRate();
            if (hasTheta && thetaStart > 0) setThetaScale(optimizer, 0f);
            Random random = new Random(t.seed());
            List<ModelQuantConfig> set = List.copyOf(initialSet);
            Set<ModelQuantConfig> trainedOn = new LinkedHashSet<>();
            List<EpochReport> epochs = new ArrayList<>();
            long tokens = 0;
            int step = 0, skipped = 0;
            for (int epoch = 1; epoch <= t.epochs(); epoch++) {
                long epochStart = System.nanoTime();
                List<int[]> batches = objective.batches(t.batchSize(), random);
                List<List<ModelQuantConfig>> schedule =
                        schedule(set, batches.size(), settings.configsPerStep(), cache.capacity(), random);
                double lossSum = 0;
                int done = 0;
                double[] normSums = new double[optimizer.groups().size()];
                int normSteps = 0;
                for (int s = 0; s < batches.size(); s++) {
                    int[] indices = batches.get(s);
                    List<ModelQuantConfig> configs = schedule.get(s);
                    trainedOn.addAll(configs);
                    if (hasTheta && thetaStart > 0 && step == thetaStart) setThetaScale(optimizer, thetaScale);
                    float lr = t.learningRateAt(step++, totalSteps);
                    try (NDManager scope = manager.newSubManager()) {
                        tokens += objective.tokens(indices) * configs.size();
                        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
                            double stepLoss = 0;
                            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                                for (ModelQuantConfig config : configs) {
                                    NDArray loss = objective.loss(
                                            indices, cache.get(config), model.adapterFor(config, scope), scope);
                                    gc.backward(loss.div(
                                            (float) configs.size())); // accumulate the mean over configurations
                                    stepLoss += loss.getFloat() / configs.size();
                                }
                            }
                            // a non-finite gradient comes from a multithreaded native kernel (docs/results.md, known
                            // issue): recompute
                            if (Float.isFinite(optimizer.step(lr))) {
                                lossSum += stepLoss * indices.length;
                                double[] norms = optimizer.lastGroupNorms();
                                for (int g = 0; g < norms.length; g++) normSums[g] += norms[g];
                                normSteps++;
                                break;
                            }
                            if (attempt == MAX_ATTEMPTS) skipped++;
                        }
                    }
                    done += indices.length;
                    progress.update(
                            "epoch " + epoch + "/" + t.epochs() + " (" + set.size() + " configurations)",
                            done,
                            objective.size());
                }
                double trainSeconds = (System.nanoTime() - epochStart) / 1e9;
                long policyStart = System.nanoTime();
                int trainedSetSize = set.size();
                if (epoch < t.epochs()) {
                    String phase =
                            "epoch " + epoch + "/" + t.epochs() + ": " + policy.name() + " measuring configurations";
                    int[] measured = {0};
                    set = List.copyOf(policy.next(epoch, set, config -> {
                        progress.update(phase, ++measured[0], measured[0] + 1);
                        return loss(config);
                    }));
                    if (measured[0] > 0) progress.update(phase, measured[0], measured[0]);
                    if (set.size() < settings.configsPerStep()) {
                        throw new IllegalStateException(
                                "policy " + policy.name() + " left " + set.size() + " configurations");
                    }
                }
                Map<String, Double> norms = new LinkedHashMap<>();
                for (int g = 0; g < normSums.length; g++) {
                    norms.merge(
                            optimizer.groups().get(g).replace(" (no decay)", ""),
                            normSteps == 0 ? 0 : normSums[g] / normSteps,
                            (x, y) -> Math.sqrt(x * x + y * y));
                }
                epochs.add(new EpochReport(
                        epoch,
                        lossSum / objective.size(),
                        trainedSetSize,
                        trainSeconds,
                        (System.nanoTime() - policyStart) / 1e9,
                        norms));
            }
            return new Result(
                    epochs,
                    set,
                    Collections.unmodifiableSet(trainedOn),
                    (System.nanoTime() - start) / 1e9,
                    tokens,
                    cache.materializations(),
                    optimizer.rejectedGradients(),
                    skipped);
        }
    }

    /**
     * The optimizer's parameter groups: the head and the shared LoRA at the learning rate and weight decay of
     * {@link FineTuneSettings}; theta at its own rate, with decay on its two weight matrices only.
     */
    private List<AdamW.Group> groups(CoaSettings settings) {
        FineTuneSettings t = settings.training();
        List<AdamW.Group> groups = new ArrayList<>();
        groups.add(new AdamW.Group("head", objective.extraParameters(), 1f, t.weightDecay()));
        List<NDArray> a = new ArrayList<>(), b = new ArrayList<>();
        for (var id : model.lora().matrices()) {
            a.add(model.lora().a(id));
            b.add(model.lora().b(id));
        }
        groups.add(new AdamW.Group("lora.A", a, 1f, t.weightDecay()));
        groups.add(new AdamW.Group("lora.B", b, 1f, t.weightDecay()));
        if (model.network() != null) {
            ThetaSettings theta = settings.theta();
            float scale = theta.learningRate(t.learningRate()) / t.learningRate();
            List<NDArray> decayed = new ArrayList<>(), plain = new ArrayList<>();
            model.network()
                    .parameters()
                    .forEach((name, p) -> (ConfigAwareNetwork.DECAYED.contains(name) ? decayed : plain).add(p));
            groups.add(new AdamW.Group(THETA, decayed, scale, theta.weightDecay()));
            groups.add(new AdamW.Group(THETA + " (no decay)", plain, scale, 0f));
        }
        return groups;
    }

    private static final String THETA = "theta";

    private static void setThetaScale(AdamW optimizer, float scale) {
        optimizer.setLearningRateScale(THETA, scale);
        optimizer.setLearningRateScale(THETA + " (no decay)", scale);
    }

    /** The objective's evaluation loss of the current adapted model for {@code config}. */
    public double loss(ModelQuantConfig config) {
        try (NDManager scope = objective.manager().newSubManager()) {
            // M computed once for the configuration, then every evaluation batch reuses it
            return objective.evaluationLoss(cache.get(config), model.adapterFor(config, scope));
        }
    }

    /**
     * Which configurations each step of an epoch trains on: k distinct ones per step, every configuration
     * of the set used. When the set is larger than the weight cache, the set is shuffled into working sets
     * that fit it and the epoch's steps visit them in turn, so each configuration is quantized once per
     * epoch at most instead of on most steps.
     */
    static List<List<ModelQuantConfig>> schedule(
            List<ModelQuantConfig> set, int steps, int k, int capacity, Random random) {
        List<ModelQuantConfig> shuffled = new ArrayList<>(set);
        Collections.shuffle(shuffled, random);
        int chunks = (int) Math.ceil((double) shuffled.size() / capacity);
        List<List<ModelQuantConfig>> out = new ArrayList<>(steps);
        for (int c = 0; c < chunks; c++) {
            List<ModelQuantConfig> working =
                    shuffled.subList(c * shuffled.size() / chunks, (c + 1) * shuffled.size() / chunks);
            int from = c * steps / chunks, to = (c + 1) * steps / chunks;
            // cycle through the working set so that every configuration gets steps, then refill at random
            List<ModelQuantConfig> deck = new ArrayList<>();
            for (int s = from; s < to; s++) {
                List<ModelQuantConfig> pick = new ArrayList<>(k);
                while (pick.size() < Math.min(k, working.size())) {
                    ModelQuantConfig next = null;
                    for (int i = deck.size() - 1; i >= 0 && next == null; i--) {
                        if (!pick.contains(deck.get(i))) next = deck.remove(i);
                    }
                    if (next
                            == null) { // deck exhausted (or only holds this step's picks): a fresh shuffled round below
                        // it
                        List<ModelQuantConfig> round = new ArrayList<>(working);
                        Collections.shuffle(round, random);
                        deck.addAll(0, round);
                        continue;
                    }
                    pick.add(next);
                }
                out.add(pick);
            }
        }
        return out;
    }
}
