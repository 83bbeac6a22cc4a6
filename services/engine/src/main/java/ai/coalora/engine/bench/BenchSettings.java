package ai.coalora.engine.bench;

import ai.coalora.engine.coa.ThetaSettings;
import ai.coalora.engine.coa.TrainingSetSpec;
import ai.coalora.engine.train.FineTuneSettings;
import java.util.ArrayList;
import java.util.List;

/**
 * Scale and protocol of the paper benchmark. Every method gets the same data, epochs, optimiser and LoRA spec.
 *
 * @param trainLimit      training examples per task (a seeded sample when the split is larger; 0: the whole split)
 * @param testLimit       test examples per task (0: the whole split)
 * @param maxLength       tokens per example after truncation
 * @param trainingSet     the shared methods' initial training set (paper: 50 budgets over 2.25..7.25 bits)
 * @param segments        bit segments U of the search's selection (paper: 40)
 * @param evaluationBatch validation examples the search measures configurations on (0: the whole validation split)
 * @param candidates      new configurations the search (or random extension) evaluates per epoch
 * @param seenBudgets     budgets of the per-configuration baseline (their allocations join the training set)
 * @param unseenBudgets   budgets of integer-only allocations no method trains on (per-configuration LoRA trained on
 *                        them is the oracle)
 * @param unseenOptimalBudgets budgets of budget-optimal allocations off every training budget (a second unseen family)
 * @param fleetBudgets    the simulated fleet: one device per budget, each served one configuration per method
 * @param fleetLowMax     devices with budgets up to this form the low-bit fleet (F_low)
 * @param emissionSamples configurations folded to time adapter emission
 * @param seeds           training seeds per method (seed s trains with {@code training.seed() + s}); data and test
 *                        examples stay the same, so the bootstrap covers seeds and examples together
 * @param methods         the methods to run, per-configuration LoRA first if present
 * @param theta           how the configuration-aware network is built and trained
 * @param headroom        also fine-tune the trained Shared-LoRA on single low-bit configurations (the headroom test)
 * @param searchPosteriorMean the search and random extension select on the GP posterior mean instead of raw losses
 */
public record BenchSettings(
        boolean quick,
        int trainLimit,
        int testLimit,
        int maxLength,
        FineTuneSettings training,
        TrainingSetSpec trainingSet,
        int segments,
        int evaluationBatch,
        int candidates,
        List<Double> seenBudgets,
        List<Double> unseenBudgets,
        List<Double> unseenOptimalBudgets,
        List<Double> fleetBudgets,
        double fleetLowMax,
        int emissionSamples,
        int seeds,
        List<Method> methods,
        ThetaSettings theta,
        boolean headroom,
        boolean searchPosteriorMean) {

    /** The paper's methods, in table order. */
    public static final List<Method> PAPER_METHODS = List.of(
            Method.PER_CONFIGURATION, Method.SHARED_LORA, Method.COA_FROZEN, Method.COA_RANDOM, Method.COA_SEARCH);

    /** The comparison at this machine's scale: both tasks, 6 seen and 6 unseen configurations, 3 epochs, one seed. */
    public static BenchSettings full() {
        return new BenchSettings(
                false,
                1000,
                0,
                40,
                FineTuneSettings.defaults(),
                TrainingSetSpec.grid(50),
                40,
                128,
                16,
                List.of(2.5, 3.0, 3.5, 4.0, 4.5, 5.0),
                List.of(2.75, 3.25, 3.75, 4.25, 4.75, 5.25),
                List.of(2.6, 2.9, 3.15, 3.4, 3.9, 4.6),
                range(2.5, 5.5, 0.25),
                3.5,
                200,
                1,
                PAPER_METHODS,
                ThetaSettings.defaults(),
                false,
                false);
    }

    /** A few minutes: small samples, two epochs, 3 seen and 3 unseen configurations; exercises every code path. */
    public static BenchSettings quickRun() {
        return new BenchSettings(
                true,
                256,
                200,
                48,
                FineTuneSettings.defaults().withEpochs(2),
                TrainingSetSpec.grid(8),
                8,
                64,
                4,
                List.of(2.5, 3.5, 4.5),
                List.of(2.75, 3.75, 4.75),
                List.of(2.9, 3.9),
                List.of(2.5, 3.0, 3.5, 4.5, 5.5),
                3.0,
                50,
                1,
                PAPER_METHODS,
                ThetaSettings.defaults(),
                false,
                false);
    }

    /**
     * The low-bit regime: a fleet of devices between 2.25 and 3 bits per weight, where quantization costs the most
     * and a configuration-specific correction has the most to add. Per-configuration LoRA trains at 2.25, 2.5, 2.75
     * and 3 bits; the unseen families sit between them; the shared methods' initial set is concentrated in 2.125..4.5
     * bits with two high-bit anchors; every device counts in F_low. Scale, epochs and methods are {@code base}'s.
     */
    public static BenchSettings lowBit(BenchSettings base) {
        Copy c = new Copy(base);
        c.trainingSet = new TrainingSetSpec(2.125, 4.5, base.trainingSet().count(), List.of(6.0, 8.0), List.of());
        c.seenBudgets = List.of(2.25, 2.5, 2.75, 3.0);
        c.unseenBudgets = List.of(2.375, 2.625, 2.875);
        c.unseenOptimalBudgets = List.of(2.2, 2.45, 2.7, 2.95);
        c.fleetBudgets = range(2.25, 3.0, 0.125);
        c.fleetLowMax = 3.0;
        return c.build();
    }

    public BenchSettings {
        if (seeds < 1) throw new IllegalArgumentException("--seeds must be >= 1, got " + seeds);
        if (methods.isEmpty()) throw new IllegalArgumentException("no methods to run");
        if (methods.stream().distinct().count() != methods.size())
            throw new IllegalArgumentException("a method is listed twice: " + methods);
        if (trainLimit < 0 || testLimit < 0 || evaluationBatch < 0)
            throw new IllegalArgumentException("limits must be >= 0");
        if (seenBudgets.isEmpty() || fleetBudgets.isEmpty())
            throw new IllegalArgumentException("seen and fleet budgets must not be empty");
        methods = List.copyOf(methods);
    }

    private static List<Double> range(double from, double to, double step) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; from + i * step <= to + 1e-9; i++) out.add(Math.round((from + i * step) * 1000) / 1000.0);
        return out;
    }

    public boolean runs(Method m) {
        return methods.contains(m);
    }

    public BenchSettings withTraining(FineTuneSettings t) {
        Copy c = new Copy(this);
        c.training = t;
        return c.build();
    }

    public BenchSettings withTrainLimit(int n) {
        Copy c = new Copy(this);
        c.trainLimit = n;
        return c.build();
    }

    public BenchSettings withTrainingSet(TrainingSetSpec spec) {
        Copy c = new Copy(this);
        c.trainingSet = spec;
        return c.build();
    }

    public BenchSettings withSearch(int evaluation, int candidateCount) {
        Copy c = new Copy(this);
        c.evaluationBatch = evaluation;
        c.candidates = candidateCount;
        return c.build();
    }

    public BenchSettings withSeeds(int n) {
        Copy c = new Copy(this);
        c.seeds = n;
        return c.build();
    }

    public BenchSettings withMethods(List<Method> m) {
        List<Method> ordered = new ArrayList<>(m);
        ordered.sort(null); // enum order: per-configuration first, as the report's baseline
        Copy c = new Copy(this);
        c.methods = ordered;
        return c.build();
    }

    public BenchSettings withTheta(ThetaSettings t) {
        Copy c = new Copy(this);
        c.theta = t;
        return c.build();
    }

    public BenchSettings withSearchPosteriorMean(boolean on) {
        Copy c = new Copy(this);
        c.searchPosteriorMean = on;
        return c.build();
    }

    public BenchSettings withHeadroom(boolean on) {
        Copy c = new Copy(this);
        c.headroom = on;
        return c.build();
    }

    /** A settings' fields, to change a few and build the result (the record's checks run again in build). */
    private static final class Copy {
        boolean quick;
        int trainLimit;
        int testLimit;
        int maxLength;
        FineTuneSettings training;
        TrainingSetSpec trainingSet;
        int segments;
        int evaluationBatch;
        int candidates;
        List<Double> seenBudgets;
        List<Double> unseenBudgets;
        List<Double> unseenOptimalBudgets;
        List<Double> fleetBudgets;
        double fleetLowMax;
        int emissionSamples;
        int seeds;
        List<Method> methods;
        ThetaSettings theta;
        boolean headroom;
        boolean searchPosteriorMean;

        Copy(BenchSettings s) {
            quick = s.quick;
            trainLimit = s.trainLimit;
            testLimit = s.testLimit;
            maxLength = s.maxLength;
            training = s.training;
            trainingSet = s.trainingSet;
            segments = s.segments;
            evaluationBatch = s.evaluationBatch;
            candidates = s.candidates;
            seenBudgets = s.seenBudgets;
            unseenBudgets = s.unseenBudgets;
            unseenOptimalBudgets = s.unseenOptimalBudgets;
            fleetBudgets = s.fleetBudgets;
            fleetLowMax = s.fleetLowMax;
            emissionSamples = s.emissionSamples;
            seeds = s.seeds;
            methods = s.methods;
            theta = s.theta;
            headroom = s.headroom;
            searchPosteriorMean = s.searchPosteriorMean;
        }

        BenchSettings build() {
            return new BenchSettings(
                    quick,
                    trainLimit,
                    testLimit,
                    maxLength,
                    training,
                    trainingSet,
                    segments,
                    evaluationBatch,
                    candidates,
                    seenBudgets,
                    unseenBudgets,
                    unseenOptimalBudgets,
                    fleetBudgets,
                    fleetLowMax,
                    emissionSamples,
                    seeds,
                    methods,
                    theta,
                    headroom,
                    searchPosteriorMean);
        }
    }
}
