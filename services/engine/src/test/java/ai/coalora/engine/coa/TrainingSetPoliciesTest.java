package ai.coalora.engine.coa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.model.BudgetPlanner;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.ScaleType;
import ai.coalora.engine.search.BitSegments;
import ai.coalora.engine.search.Evaluated;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The epoch-to-epoch training-set update, on a synthetic loss (no model): the search must move and keep coverage. */
class TrainingSetPoliciesTest {
    static final List<MatrixSpec> MATRICES = new ArrayList<>();
    static {
        for (int block = 0; block < 6; block++) {
            MATRICES.add(new MatrixSpec("encoder.layer." + block + ".attention.self.query.weight", 384, 384));
            MATRICES.add(new MatrixSpec("encoder.layer." + block + ".intermediate.dense.weight", 1536, 384));
        }
    }

    /** Loss falls with each matrix's weight bits; the intermediate matrices matter more. */
    static double loss(ModelQuantConfig c) {
        double sum = 0;
        for (int i = 0; i < c.matrices().size(); i++) {
            double eff = c.matrices().get(i).config().bitsPerWeight();
            sum += (i % 2 == 1 ? 3 : 1) * Math.pow(2, -1.5 * eff);
        }
        return sum;
    }

    static List<ModelQuantConfig> initialSet() {
        List<ModelQuantConfig> set = new ArrayList<>();
        for (int b : QuantConfig.WEIGHT_BITS) {
            for (int b0 : List.of(2, 8)) set.add(ModelQuantConfig.uniform(MATRICES, new QuantConfig(b, b0, ScaleType.FP16, 64, 256), QuantizerKind.NF));
        }
        return set;
    }

    @Test
    void searchAddsMeasuredCandidatesAndKeepsEveryCoveredSegment() {
        List<ModelQuantConfig> set = initialSet();
        BitSegments segments = new BitSegments(10, BudgetPlanner.GRID_LOW, BudgetPlanner.GRID_HIGH);
        Set<Integer> covered = segments.coverage(set.stream().map(c -> Evaluated.of(c, loss(c))).toList());
        TrainingSetPolicies.Archived search = TrainingSetPolicies.paretoSearch(10, 8, 1);
        Set<ModelQuantConfig> measured = new HashSet<>();
        List<ModelQuantConfig> next = set;
        for (int epoch = 1; epoch <= 3; epoch++) {
            next = search.next(epoch, next, c -> { measured.add(c); return loss(c); });
            assertTrue(segments.coverage(next.stream().map(c -> Evaluated.of(c, loss(c))).toList()).containsAll(covered),
                    "epoch " + epoch + " lost a covered bit segment");
        }
        assertEquals(3, search.rounds().size());
        int entered = search.rounds().stream().mapToInt(TrainingSetPolicies.Round::candidatesSelected).sum();
        assertTrue(entered > 0, "no searched configuration ever entered the training set: the search is inert");
        assertTrue(next.stream().anyMatch(c -> !set.contains(c)), "the final set is still the initial one");
        assertTrue(measured.containsAll(next), "every configuration of the set was measured for real");
    }

    @Test
    void randomExtensionProposesTheSameNumberOfWalks() {
        TrainingSetPolicies.Archived random = TrainingSetPolicies.randomExtension(10, 8, 1);
        List<ModelQuantConfig> next = random.next(1, initialSet(), TrainingSetPoliciesTest::loss);
        assertEquals(8, random.rounds().get(0).candidates());
        assertEquals(8 + initialSet().size(), random.rounds().get(0).measured());
        assertTrue(!next.isEmpty());
    }

    @Test
    void randomConfigurationsSpanTheOptionSpace() {
        Random r = new Random(3);
        Set<QuantConfig> options = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            TrainingSetPolicies.randomConfiguration(MATRICES, QuantizerKind.NF, r).matrices().forEach(e -> options.add(e.config()));
        }
        assertTrue(options.size() > 300, "only " + options.size() + " of 432 options drawn");
    }
}
