package ai.coalora.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ExpectedHypervolumeImprovementTest {
    private static final List<Objectives> FRONT = List.of(
            new Objectives(6, 2), new Objectives(3, 5), new Objectives(1, 8), new Objectives(7, 6)); // last dominated
    private static final Objectives REF = new Objectives(10, 10);
    private final ExpectedHypervolumeImprovement ehvi = new ExpectedHypervolumeImprovement(FRONT, REF);

    /** HV(front + candidate) - HV(front), straight from the definition. */
    private static double hvi(double loss, double bits) {
        List<Objectives> with = new ArrayList<>(FRONT);
        with.add(new Objectives(loss, bits));
        return Hypervolume.of(with, REF) - Hypervolume.of(FRONT, REF);
    }

    @Test
    void deterministicImprovementMatchesHypervolumeDifference() {
        double[] losses = {-3, 0, 0.5, 1, 2, 3, 4.5, 6, 8, 9.99, 10, 12};
        double[] bits = {0, 1.5, 2, 3, 5, 6.5, 8, 9, 10, 11};
        for (double l : losses) {
            for (double b : bits) {
                assertEquals(hvi(l, b), ehvi.improvement(l, b), 1e-9, "loss " + l + ", bits " + b);
                assertEquals(ehvi.improvement(l, b), ehvi.expected(l, 0, b), 0.0);
            }
        }
    }

    @Test
    void zeroForACandidateDominatedWithCertainty() {
        assertEquals(0.0, ehvi.expected(4, 0, 6)); // dominated by (3, 5)
        assertEquals(0.0, ehvi.expected(3, 0, 5)); // equal to a front point
        assertEquals(0.0, ehvi.expected(0, 1, 10)); // at the reference bits
        assertEquals(0.0, ehvi.expected(11, 0, 3)); // beyond the reference loss
    }

    @Test
    void closedFormMatchesMonteCarlo() {
        Random r = new Random(7);
        double[][] cases = {{4, 1, 3}, {2, 2, 6}, {8, 0.5, 4}, {0.5, 3, 9}, {5, 0.01, 4.5}, {12, 1, 1}};
        for (double[] c : cases) {
            double mean = c[0], sd = c[1], bits = c[2];
            int samples = 200_000;
            double sum = 0, sumSq = 0;
            for (int i = 0; i < samples; i++) {
                double v = ehvi.improvement(mean + sd * r.nextGaussian(), bits);
                sum += v;
                sumSq += v * v;
            }
            double mc = sum / samples;
            double stderr = Math.sqrt(Math.max(0, sumSq / samples - mc * mc) / samples);
            double exact = ehvi.expected(mean, sd, bits);
            assertEquals(mc, exact, 4 * stderr + 1e-6, "case " + Arrays.toString(c));
        }
    }

    @Test
    void growsWithUncertaintyForADominatedMean() {
        double certain = ehvi.expected(4, 0, 6);
        double unsure = ehvi.expected(4, 1, 6);
        assertEquals(0.0, certain);
        assertTrue(unsure > 0 && unsure > ehvi.expected(4, 0.5, 6));
    }

    @Test
    void normalCdfIsAccurate() {
        assertEquals(0.5, ExpectedHypervolumeImprovement.normalCdf(0), 1e-7);
        assertEquals(0.8413447460685429, ExpectedHypervolumeImprovement.normalCdf(1), 1e-7);
        assertEquals(0.022750131948179195, ExpectedHypervolumeImprovement.normalCdf(-2), 1e-8);
        assertThrows(IllegalArgumentException.class, () -> ehvi.expected(Double.NaN, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> ehvi.expected(1, -1, 3));
    }
}
