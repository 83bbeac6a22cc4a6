package ai.coalora.engine.search;

import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.ModelQuantConfig.Entry;
import ai.coalora.engine.quant.QuantConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One round of the Pareto-based configuration search (method.md, "Pareto-based configuration search"):
 * <ol>
 *   <li>fit a {@link GaussianProcess} to the archive's losses on {@link ConfigFeatures};
 *   <li>pick start points: front members spread over bits (the front's ends included, so it can grow outwards)
 *       plus a few random archive points;
 *   <li>from each, take greedy coordinate steps: a neighbour changes one field (b, b0, b1, B0 or B1) of one matrix
 *       to the adjacent value of its ordered list; move to the neighbour with the highest expected hypervolume
 *       improvement while it beats the current configuration;
 *   <li>return the distinct end points that are not in the archive, for the caller to evaluate for real.
 * </ol>
 * After a candidate is chosen it joins the working front at its predicted loss (a "kriging believer"), so later
 * walks look for improvement elsewhere instead of proposing the same gap again.
 * The instance keeps its seeded Random across rounds: rounds differ, runs are reproducible.
 */
public final class ConfigurationSearch {
    /**
     * @param starts          walks per round
     * @param stepsPerStart   coordinate steps per walk at most
     * @param maxCandidates   configurations returned per round at most
     * @param seed            seeds the choice of random start points
     * @param referenceMargin the EHVI reference lies this fraction of the observed range beyond the worst point
     */
    public record Settings(int starts, int stepsPerStart, int maxCandidates, long seed, double referenceMargin) {
        public Settings {
            if (starts < 1 || stepsPerStart < 1 || maxCandidates < 1) {
                throw new IllegalArgumentException("starts, stepsPerStart and maxCandidates must be >= 1, got " + starts
                        + ", " + stepsPerStart + ", " + maxCandidates);
            }
            if (!(referenceMargin > 0) || !Double.isFinite(referenceMargin)) {
                throw new IllegalArgumentException("referenceMargin must be finite and > 0, got " + referenceMargin);
            }
        }

        public Settings(int starts, int stepsPerStart, int maxCandidates, long seed) {
            this(starts, stepsPerStart, maxCandidates, seed, 0.1);
        }

        public static Settings defaults() {
            return new Settings(8, 10, 8, 0);
        }
    }

    /** A proposed configuration with the surrogate's view of it (for logs; the caller measures the real loss). */
    public record Candidate(
            ModelQuantConfig config, double predictedLoss, double predictedSd, double expectedImprovement) {}

    private final Settings settings;
    private final Random random;

    public ConfigurationSearch(Settings settings) {
        if (settings == null) throw new IllegalArgumentException("settings must not be null");
        this.settings = settings;
        this.random = new Random(settings.seed());
    }

    public List<Candidate> propose(ParetoArchive archive) {
        return propose(archive.points());
    }

    /** New configurations (not in {@code archive}) worth evaluating, at most {@code maxCandidates}. */
    public List<Candidate> propose(Collection<Evaluated> archive) {
        List<Evaluated> points = List.copyOf(archive);
        if (points.isEmpty()) throw new IllegalArgumentException("configuration search needs a non-empty archive");
        List<MatrixSpec> matrices = matricesOf(points.get(0).config());
        Set<ModelQuantConfig> known = new HashSet<>();
        for (Evaluated e : points) {
            if (!matricesOf(e.config()).equals(matrices)) {
                throw new IllegalArgumentException("configuration search: all archive configurations must cover the "
                        + "same matrices in the same order");
            }
            known.add(e.config());
        }

        GaussianProcess gp = fitSurrogate(points);
        List<Objectives> working = new ArrayList<>();
        for (Evaluated e : points) working.add(e.objectives());
        Objectives reference = reference(working);
        ExpectedHypervolumeImprovement ehvi = new ExpectedHypervolumeImprovement(working, reference);

        List<Candidate> candidates = new ArrayList<>();
        for (Evaluated start : startPoints(points)) {
            if (candidates.size() >= settings.maxCandidates()) break;
            Walk walk = new Walk(start.config(), gp, ehvi);
            for (int step = 0; step < settings.stepsPerStart() && walk.step(); step++) {}
            ModelQuantConfig end = walk.config();
            if (known.add(end)) {
                candidates.add(new Candidate(end, walk.prediction.mean(), walk.prediction.sd(), walk.value));
                working.add(new Objectives(walk.prediction.mean(), walk.bits()));
                ehvi = new ExpectedHypervolumeImprovement(working, reference);
            }
        }
        return candidates;
    }

    /**
     * Beyond the worst observed point on both objectives (so every point counts), and on bits also beyond the
     * richest possible configuration: bits are known analytically, and a reference just past the archive's
     * highest bits would make the front's high-bit end worthless to extend.
     */
    Objectives reference(List<Objectives> observed) {
        Objectives ref = Hypervolume.referencePoint(observed, settings.referenceMargin());
        double richest = ConfigFeatures.MAX_BITS * (1 + Hypervolume.EPSILON);
        return new Objectives(ref.loss(), Math.max(ref.bits(), richest));
    }

    private static GaussianProcess fitSurrogate(List<Evaluated> points) {
        List<double[]> x = new ArrayList<>();
        double[] y = new double[points.size()];
        for (int i = 0; i < points.size(); i++) {
            x.add(ConfigFeatures.encode(points.get(i).config()));
            y[i] = points.get(i).loss();
        }
        try {
            return GaussianProcess.fit(x, y);
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "configuration search: fitting the GP surrogate on " + points.size() + " archive points failed: "
                            + e.getMessage(),
                    e);
        }
    }

    /** Front members evenly spread over bits (both ends first), then random archive points; distinct. */
    List<Evaluated> startPoints(List<Evaluated> points) {
        List<Evaluated> front = ParetoFront.ofEvaluated(points);
        int fromFront = Math.min(front.size(), Math.max(1, settings.starts() - settings.starts() / 4));
        Set<Evaluated> starts = new LinkedHashSet<>();
        if (fromFront == 1) {
            starts.add(front.get(0));
        } else {
            starts.add(front.get(0));
            starts.add(front.get(front.size() - 1));
            for (int k = 1; k < fromFront - 1; k++) {
                starts.add(front.get((int) Math.round((double) k * (front.size() - 1) / (fromFront - 1))));
            }
        }
        int wanted = Math.min(settings.starts(), points.size());
        while (starts.size() < wanted) starts.add(points.get(random.nextInt(points.size())));
        return new ArrayList<>(starts);
    }

    /** The coordinate neighbours of a configuration: one field of one matrix moved to an adjacent value. */
    public static List<ModelQuantConfig> neighbours(ModelQuantConfig config) {
        List<ModelQuantConfig> out = new ArrayList<>();
        List<Entry> entries = config.matrices();
        for (int i = 0; i < entries.size(); i++) {
            for (QuantConfig option : adjacentOptions(entries.get(i).config())) {
                out.add(replace(config, i, option));
            }
        }
        return out;
    }

    /** Options one step away in one field's ordered list. */
    static List<QuantConfig> adjacentOptions(QuantConfig c) {
        List<QuantConfig> out = new ArrayList<>();
        for (int dir = -1; dir <= 1; dir += 2) {
            int d = dir;
            adjacent(
                    QuantConfig.WEIGHT_BITS,
                    c.b(),
                    d,
                    v -> out.add(new QuantConfig(v, c.b0(), c.b1(), c.B0(), c.B1())));
            adjacent(
                    QuantConfig.SCALE_BITS, c.b0(), d, v -> out.add(new QuantConfig(c.b(), v, c.b1(), c.B0(), c.B1())));
            adjacent(
                    QuantConfig.SCALE_TYPES,
                    c.b1(),
                    d,
                    v -> out.add(new QuantConfig(c.b(), c.b0(), v, c.B0(), c.B1())));
            adjacent(
                    QuantConfig.BLOCK_SIZES,
                    c.B0(),
                    d,
                    v -> out.add(new QuantConfig(c.b(), c.b0(), c.b1(), v, c.B1())));
            adjacent(
                    QuantConfig.GROUP_SIZES,
                    c.B1(),
                    d,
                    v -> out.add(new QuantConfig(c.b(), c.b0(), c.b1(), c.B0(), v)));
        }
        return out;
    }

    private static <T> void adjacent(List<T> values, T current, int direction, Consumer<T> sink) {
        int j = values.indexOf(current) + direction;
        if (j >= 0 && j < values.size()) sink.accept(values.get(j));
    }

    private static ModelQuantConfig replace(ModelQuantConfig config, int matrix, QuantConfig option) {
        List<Entry> entries = new ArrayList<>(config.matrices());
        entries.set(matrix, new Entry(entries.get(matrix).matrix(), option));
        return new ModelQuantConfig(config.quantizer(), entries);
    }

    private static List<MatrixSpec> matricesOf(ModelQuantConfig config) {
        return config.matrices().stream().map(Entry::matrix).toList();
    }

    /**
     * A greedy walk. Neighbours are scored without building them: the features differ in one coordinate and the
     * exact bits follow from the integer bit units (the same arithmetic as {@link ModelQuantConfig#averageBits()}).
     */
    private static final class Walk {
        final GaussianProcess gp;
        final ExpectedHypervolumeImprovement ehvi;
        final ModelQuantConfig start;
        final QuantConfig[] options;
        final long[] numel;
        final long totalNumel;
        final double[] features;
        long units;
        GaussianProcess.Prediction prediction;
        double value;

        Walk(ModelQuantConfig start, GaussianProcess gp, ExpectedHypervolumeImprovement ehvi) {
            this.gp = gp;
            this.ehvi = ehvi;
            this.start = start;
            int n = start.matrices().size();
            options = new QuantConfig[n];
            numel = new long[n];
            for (int i = 0; i < n; i++) {
                options[i] = start.matrices().get(i).config();
                numel[i] = start.matrices().get(i).matrix().numel();
                units += numel[i] * options[i].bitUnitsPerWeight();
            }
            totalNumel = start.totalNumel();
            features = ConfigFeatures.encode(start);
            prediction = gp.predict(features);
            value = ehvi.expected(prediction.mean(), prediction.sd(), bits());
        }

        double bits() {
            return bitsOf(units);
        }

        private double bitsOf(long u) {
            return u / ((double) totalNumel * QuantConfig.BIT_UNITS_PER_BIT);
        }

        /** Moves to the best neighbour if it improves EHVI; false when at a local optimum. */
        boolean step() {
            int bestMatrix = -1;
            QuantConfig bestOption = null;
            GaussianProcess.Prediction bestPrediction = null;
            double bestValue = value;
            for (int i = 0; i < options.length; i++) {
                double saved = features[i];
                for (QuantConfig option : adjacentOptions(options[i])) {
                    long u = units + numel[i] * (option.bitUnitsPerWeight() - options[i].bitUnitsPerWeight());
                    features[i] = ConfigFeatures.feature(option);
                    GaussianProcess.Prediction p = gp.predict(features);
                    double v = ehvi.expected(p.mean(), p.sd(), bitsOf(u));
                    if (v > bestValue) {
                        bestValue = v;
                        bestMatrix = i;
                        bestOption = option;
                        bestPrediction = p;
                    }
                }
                features[i] = saved;
            }
            if (bestMatrix < 0) return false;
            units += numel[bestMatrix] * (bestOption.bitUnitsPerWeight() - options[bestMatrix].bitUnitsPerWeight());
            options[bestMatrix] = bestOption;
            features[bestMatrix] = ConfigFeatures.feature(bestOption);
            prediction = bestPrediction;
            value = bestValue;
            return true;
        }

        ModelQuantConfig config() {
            List<Entry> entries = new ArrayList<>(options.length);
            for (int i = 0; i < options.length; i++)
                entries.add(new Entry(start.matrices().get(i).matrix(), options[i]));
            return new ModelQuantConfig(start.quantizer(), entries);
        }
    }
}
