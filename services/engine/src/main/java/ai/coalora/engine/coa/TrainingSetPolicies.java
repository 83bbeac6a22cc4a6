package ai.coalora.engine.coa;

import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.search.BitSegments;
import ai.coalora.engine.search.ConfigurationSearch;
import ai.coalora.engine.search.Evaluated;
import ai.coalora.engine.search.ParetoArchive;
import java.util.ArrayList;
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

    public static Archived paretoSearch(int segments, int candidates, long seed) {
        ConfigurationSearch search = new ConfigurationSearch(
                new ConfigurationSearch.Settings(Math.max(1, candidates), STEPS_PER_WALK, Math.max(1, candidates), seed));
        return new Archived("search", segments, archive -> search.propose(archive).stream()
                .map(ConfigurationSearch.Candidate::config).toList());
    }

    public static Archived randomExtension(int segments, int candidates, long seed) {
        Random random = new Random(seed);
        return new Archived("random", segments, archive -> {
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
    public static ModelQuantConfig randomConfiguration(List<MatrixSpec> matrices, QuantizerKind quantizer, Random random) {
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        for (MatrixSpec m : matrices) entries.add(new ModelQuantConfig.Entry(m, QuantConfig.all().get(random.nextInt(QuantConfig.all().size()))));
        return new ModelQuantConfig(quantizer, entries);
    }

    private interface Proposer {
        List<ModelQuantConfig> propose(ParetoArchive archive);
    }

    /**
     * What one epoch's update did: how many candidates were measured, how many of them entered the next
     * training set, its size, and how many bit segments it covers.
     */
    public record Round(int epoch, int measured, int candidates, int candidatesSelected, int setSize, int segmentsCovered) {}

    /** A policy that measures configurations; {@link #rounds()} is its log. */
    public static final class Archived implements TrainingSetPolicy {
        private final String name;
        private final int segmentCount;
        private final Proposer proposer;
        private final List<Round> rounds = new ArrayList<>();

        Archived(String name, int segmentCount, Proposer proposer) {
            this.name = name;
            this.segmentCount = segmentCount;
            this.proposer = proposer;
        }

        @Override
        public String name() { return name; }

        @Override
        public List<ModelQuantConfig> next(int epoch, List<ModelQuantConfig> current, LossOracle loss) {
            ParetoArchive archive = new ParetoArchive();
            for (ModelQuantConfig c : current) archive.add(Evaluated.of(c, loss.loss(c)));
            List<ModelQuantConfig> candidates = proposer.propose(archive);
            for (ModelQuantConfig c : candidates) archive.add(Evaluated.of(c, loss.loss(c)));
            BitSegments segments = new BitSegments(segmentCount, ai.coalora.engine.model.BudgetPlanner.GRID_LOW,
                    ai.coalora.engine.model.BudgetPlanner.GRID_HIGH);
            List<Evaluated> selected = archive.trainingSet(segments);
            Set<ModelQuantConfig> fresh = new java.util.HashSet<>(candidates);
            int chosen = (int) selected.stream().filter(e -> fresh.contains(e.config())).count();
            rounds.add(new Round(epoch, archive.size(), candidates.size(), chosen, selected.size(), segments.coverage(selected).size()));
            return selected.stream().map(Evaluated::config).toList();
        }

        public List<Round> rounds() { return List.copyOf(rounds); }
    }
}
