package ai.coalora.engine.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.coalora.engine.quant.ModelQuantConfig;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The rule that picks what a shared method serves a device (pure logic: no model). */
class FleetServingTest {
    static final ModelQuantConfig TWO = FleetReportTest.config(2),
            THREE = FleetReportTest.config(3),
            FOUR = FleetReportTest.config(4);
    static final List<ModelQuantConfig> CANDIDATES = List.of(TWO, THREE, FOUR);

    @Test
    void aDeviceGetsTheAllocationAtItsOwnBudgetWhenNoCheaperOneIsClearlyBetter() {
        Random random = new Random(1);
        // the 2-bit candidate is ahead by 1 point on 400 examples (12 more right, 8 more wrong): within noise
        boolean[] rich = FleetReportTest.correct(random, 0.90);
        Map<ModelQuantConfig, boolean[]> validation =
                Map.of(TWO, flip(flip(rich, 12, true, 0), 8, false, 200), THREE, rich.clone(), FOUR, rich);
        assertSame(FOUR, PaperBenchmark.choose(CANDIDATES, validation, 4.2));
        assertSame(THREE, PaperBenchmark.choose(CANDIDATES, validation, 3.5));
        assertNull(PaperBenchmark.choose(CANDIDATES, validation, 1.5), "nothing fits");
    }

    @Test
    void aClearlyMoreAccurateCheaperCandidateIsServedInstead() {
        Random random = new Random(2);
        boolean[] rich = FleetReportTest.correct(random, 0.80);
        // 3 bits: 40 more right on 400 (10 points), far beyond the paired standard error; 2 bits: 20 more right
        Map<ModelQuantConfig, boolean[]> validation =
                Map.of(TWO, flip(rich, 20, true, 0), THREE, flip(rich, 40, true, 0), FOUR, rich);
        assertSame(THREE, PaperBenchmark.choose(CANDIDATES, validation, 4.0), "the most accurate of the clear winners");
    }

    @Test
    void thePairedGainIsTheMeanDifferenceWithItsStandardError() {
        boolean[] a = {true, true, false, true}, b = {true, false, false, false};
        double[] gain = PaperBenchmark.pairedGain(a, b);
        // differences 0, 1, 0, 1: mean 0.5, sample variance 1/3, standard error sqrt(1/3 / 4)
        assertArrayEquals(new double[] {0.5, Math.sqrt(1.0 / 12)}, gain, 1e-12);
        assertEquals(0, PaperBenchmark.pairedGain(a, a)[1], 0);
    }

    /** A copy with the first {@code n} examples from {@code from} on that {@code c} gets wrong turned right (or right ones wrong). */
    static boolean[] flip(boolean[] c, int n, boolean toRight, int from) {
        boolean[] out = c.clone();
        for (int i = from; i < out.length && n > 0; i++) {
            if (out[i] != toRight) {
                out[i] = toRight;
                n--;
            }
        }
        return out;
    }
}
