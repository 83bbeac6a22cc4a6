package ai.coalora.engine.coa;

import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import ai.coalora.engine.search.BitSegments;
import ai.coalora.engine.search.ConfigFeatures;
import ai.coalora.engine.search.ConfigurationSearch;
import ai.coalora.engine.search.Evaluated;
import ai.coalora.engine.search.GaussianProcess;
import ai.coalora.engine.search.ParetoArchive;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The training-set policies that evaluate configurations: the Pareto-based search (the method) and its
 * ablation, random extension. Both, once per epoch:
 * <ol>
 *   <li>measure the current set's loss with the current model (older measurements describe an older model,
 *       so the archive is rebuilt from fresh ones);</li>
 *   <li>propose new configurations — guided by expected hypervolume improvement on a Gaussian-process
 *       surrogate, or by random coordinate walks of the same length — and measure them for real;</li>
 *   <li>keep the non-dominated set of each of U bit segments over 2.25..7.25 as the next training set.</li>
 * </ol>
 * They differ only in step 2, so the comparison isolates the search's guidance.
 */
public final class TrainingSetPolicies {
    /** Coordinate steps per walk, for the search and for random walks alike. */
    static final int STEPS_PER_WALK = 10;

    private TrainingSetPolicies() {}

    /**
     * How the next training set is chosen from the measured archive.
     *
     * @param posteriorMean select on the Gaussian process's posterior mean of each point's loss instead of the raw
     *                      measurement: the GP's noise term smooths measurement noise that would otherwise pick easy
     *                      configurations and drop hard ones
     * @param keep          configurations that stay in the set whatever their loss (e.g. those devices are served)
     */
    public record Selection(boolean posteriorMean, Set<ModelQuantConfig> keep) {
        public static final Selection RAW = new Selection(false, Set.of());

        public Selection {
            keep = Set.copyOf(keep);
        }
    }

    /**
     * What {@code train} runs: the Pareto search with {@code candidates} new configurations per epoch, or, with 0, the
     * initial set kept as it is (the default: in the benchmark the search tripled the training time and did not raise
     * the fleet's accuracy, see docs/coa-study.md).
     */
    public static TrainingSetPolicy forTraining(int segments, int candidates, long seed) {
        if (candidates < 0) throw new IllegalArgumentException("candidates must be >= 0, got " + candidates);
        return candidates == 0 ? TrainingSetPolicy.frozen() : paretoSearch(segments, candidates, seed);
    }

    public static Archived paretoSearch(int segments, int candidates, long seed) {
        return paretoSearch(segments, candidates, seed, Selection.RAW);
    }

    public static Archived paretoSearch(int segments, int candidates, long seed, Selection selection) {
        ConfigurationSearch search = new ConfigurationSearch(new ConfigurationSearch.Settings(
                Math.max(1, candidates), STEPS_PER_WALK, Math.max(1, candidates), seed));
        return new Archived(
                "search",
                segments,
                selection,
                archive -> search.propose(archive).stream()
                        .map(ConfigurationSearch.Candidate::config)
                        .toList());
    }

    public static Archived randomExtension(int segments, int candidates, long seed) {
        return randomExtension(segments, candidates, seed, Selection.RAW);
    }

    public static Archived randomExtension(int segments, int candidates, long seed, Selection selection) {
        Random random = new Random(seed);
        return new Archived("random", segments, selection, archive -> {
            List<Evaluated> points = archive.points();
            Set<ModelQuantConfig> out = new LinkedHashSet<>();
            for (int attempt = 0; out.size() < candidates && attempt < candidates * 10; attempt++) {
                ModelQuantConfig c = points.get(random.nextInt(points.size())).config();
                for (int step = 0; step < STEPS_PER_WALK; step++) {
                    List<ModelQuantConfig> next = ConfigurationSearch.neighbours(c);
                    c = next.get(random.nextInt(next.size()));
                }
                if (!archive.contains(c)) out.add(c);
            }
            return List.copyOf(out);
        });
    }

    /** A configuration with a uniformly random option per matrix. */
    public static ModelQuantConfig randomConfiguration(
            List<MatrixSpec> matrices, QuantizerKind quantizer, Random random) {
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        for (MatrixSpec m : matrices)
            entries.add(new ModelQuantConfig.Entry(
                    m, QuantConfig.all().get(random.nextInt(QuantConfig.all().size()))));
        return new ModelQuantConfig(quantizer, entries);
    }

    private interface Proposer {
        List<ModelQuantConfig> propose(ParetoArchive archive);
    }

    /**
     * What one epoch's update did: how many candidates were measured, how many of them entered the next
     * training set, its size, and how many bit segments it covers.
     */
    public record Round(
            int epoch, int measured, int candidates, int candidatesSelected, int setSize, int segmentsCovered) {}

    /** A policy that measures configurations; {@link #rounds()} is its log. */
    public static final class Archived implements TrainingSetPolicy {
        private final String name;
        private final int segmentCount;
        private final Selection selection;
        private final Proposer proposer;
        private final List<Round> rounds = new ArrayList<>();

        Archived(String name, int segmentCount, Selection selection, Proposer proposer) {
            this.name = name;
            this.segmentCount = segmentCount;
            this.selection = selection;
            this.proposer = proposer;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public List<ModelQuantConfig> next(int epoch, List<ModelQuantConfig> current, LossOracle loss) {
            ParetoArchive archive = new ParetoArchive();
            for (ModelQuantConfig c : current) archive.add(Evaluated.of(c, loss.loss(c)));
            List<ModelQuantConfig> candidates = proposer.propose(archive);
            for (ModelQuantConfig c : candidates) archive.add(Evaluated.of(c, loss.loss(c)));
            BitSegments segments = new BitSegments(segmentCount, BudgetPlanner.GRID_LOW, BudgetPlanner.GRID_HIGH);
            ParetoArchive ranked = selection.posteriorMean() ? smoothed(archive) : archive;
            List<Evaluated> selected = new ArrayList<>(ranked.trainingSet(segments));
            Set<ModelQuantConfig> fresh = new HashSet<>(candidates);
            int chosen = (int)
                    selected.stream().filter(e -> fresh.contains(e.config())).count();
            Set<ModelQuantConfig> out = new LinkedHashSet<>();
            for (Evaluated e : selected) out.add(e.config());
            for (ModelQuantConfig c : current) if (selection.keep().contains(c)) out.add(c);
            rounds.add(new Round(
                    epoch,
                    archive.size(),
                    candidates.size(),
                    chosen,
                    out.size(),
                    segments.coverage(selected).size()));
            return List.copyOf(out);
        }

        public List<Round> rounds() {
            return List.copyOf(rounds);
        }

        /** The archive with each measured loss replaced by the GP's posterior mean at that configuration. */
        private static ParetoArchive smoothed(ParetoArchive archive) {
            List<Evaluated> points = archive.points();
            List<double[]> x = new ArrayList<>();
            double[] y = new double[points.size()];
            for (int i = 0; i < points.size(); i++) {
                x.add(ConfigFeatures.encode(points.get(i).config()));
                y[i] = points.get(i).loss();
            }
            GaussianProcess gp = GaussianProcess.fit(x, y);
            ParetoArchive out = new ParetoArchive();
            for (int i = 0; i < points.size(); i++)
                out.add(Evaluated.of(
                        points.get(i).config(), gp.predict(x.get(i)).mean()));
            return out;
        }
    }
}
