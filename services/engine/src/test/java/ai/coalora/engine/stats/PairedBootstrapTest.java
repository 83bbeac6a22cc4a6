package ai.coalora.engine.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.stats.PairedBootstrap.Estimate;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PairedBootstrapTest {
    private static boolean[] bernoulli(Random random, int n, double p) {
        boolean[] correct = new boolean[n];
        for (int i = 0; i < n; i++) correct[i] = random.nextDouble() < p;
        return correct;
    }

    /** a, with each example independently flipped to wrong with probability p. */
    private static boolean[] worsened(Random random, boolean[] a, double p) {
        boolean[] b = a.clone();
        for (int i = 0; i < b.length; i++) if (random.nextDouble() < p) b[i] = false;
        return b;
    }

    private static double width(Estimate e) {
        return e.high() - e.low();
    }

    @Test
    void intervalCoversTheTrueAccuracyAboutNinetyFivePercentOfTheTime() {
        Random random = new Random(1);
        PairedBootstrap bootstrap = new PairedBootstrap(400, 7);
        int covered = 0, trials = 200;
        for (int t = 0; t < trials; t++) {
            Estimate e = bootstrap.accuracy(bernoulli(random, 400, 0.8));
            assertTrue(e.low() <= e.value() && e.value() <= e.high(), e.toString());
            if (e.low() <= 0.8 && 0.8 <= e.high()) covered++;
        }
        assertTrue(covered >= 180 && covered <= 199, "covered " + covered + " of " + trials);
    }

    @Test
    void accuracyIsTheFractionCorrect() {
        Estimate e = new PairedBootstrap(1).accuracy(new boolean[] {true, true, true, false});
        assertEquals(0.75, e.value());
        assertTrue(e.low() >= 0 && e.high() <= 1);
    }

    @Test
    void intervalNarrowsWithMoreExamples() {
        Random random = new Random(2);
        PairedBootstrap bootstrap = new PairedBootstrap(3);
        double small = width(bootstrap.accuracy(bernoulli(random, 200, 0.7)));
        double large = width(bootstrap.accuracy(bernoulli(random, 5000, 0.7)));
        assertTrue(large < small / 3, small + " vs " + large); // ~ 1/sqrt(n): 5x narrower
    }

    @Test
    void identicalResultsDifferByExactlyZero() {
        boolean[] a = bernoulli(new Random(4), 500, 0.6);
        Estimate e = new PairedBootstrap(5).difference(a, a.clone());
        assertEquals(new Estimate(0, 0, 0), e);
        assertFalse(e.significant());
        assertEquals("+0.0 [+0.0, +0.0]", e.format());

        List<boolean[]> configs = List.of(a, bernoulli(new Random(5), 500, 0.3), bernoulli(new Random(6), 500, 0.9));
        assertEquals(new Estimate(0, 0, 0), new PairedBootstrap(5).meanDifference(configs, List.copyOf(configs)));
    }

    @Test
    void aLargeClearDifferenceIsSignificant() {
        Random random = new Random(6);
        Estimate e = new PairedBootstrap(7).difference(bernoulli(random, 1000, 0.9), bernoulli(random, 1000, 0.6));
        assertTrue(e.significant(), e.toString());
        assertTrue(e.low() > 0.2 && e.high() < 0.4, e.toString());
    }

    @Test
    void pairingDetectsASmallConsistentGainThatIndependentAccuraciesCannot() {
        Random random = new Random(8);
        boolean[] ours = bernoulli(random, 1000, 0.7);
        boolean[] baseline = worsened(random, ours, 0.03); // ~2 points worse, on the same examples
        PairedBootstrap bootstrap = new PairedBootstrap(9);
        Estimate gap = bootstrap.difference(ours, baseline);
        assertTrue(gap.significant() && gap.value() > 0, gap.toString());
        // the separate accuracy intervals overlap: without pairing the gain would look like noise
        assertTrue(
                bootstrap.accuracy(baseline).high() > bootstrap.accuracy(ours).low());
    }

    @Test
    void meanOverConfigurationsAveragesTheGaps() {
        Random random = new Random(10);
        List<boolean[]> ours =
                List.of(bernoulli(random, 800, 0.8), bernoulli(random, 800, 0.7), bernoulli(random, 800, 0.6));
        List<boolean[]> baseline =
                ours.stream().map(a -> worsened(random, a, 0.05)).toList();
        PairedBootstrap bootstrap = new PairedBootstrap(11);

        double expected = 0;
        for (int k = 0; k < ours.size(); k++)
            expected += bootstrap.difference(ours.get(k), baseline.get(k)).value() / ours.size();
        Estimate mean = bootstrap.meanDifference(ours, baseline);
        assertEquals(expected, mean.value(), 1e-12);
        assertTrue(mean.significant() && mean.low() <= mean.value() && mean.value() <= mean.high(), mean.toString());

        Estimate accuracy = bootstrap.meanAccuracy(ours);
        double expectedAccuracy = ours.stream()
                .mapToDouble(a -> bootstrap.accuracy(a).value())
                .average()
                .orElseThrow();
        assertEquals(expectedAccuracy, accuracy.value(), 1e-12);
        assertEquals(bootstrap.accuracy(ours.get(0)), bootstrap.meanAccuracy(List.of(ours.get(0))));
    }

    @Test
    void sameSeedSameInterval() {
        Random random = new Random(12);
        boolean[] a = bernoulli(random, 300, 0.7), b = bernoulli(random, 300, 0.65);
        assertEquals(new PairedBootstrap(2000, 42).difference(a, b), new PairedBootstrap(2000, 42).difference(a, b));
        PairedBootstrap bootstrap = new PairedBootstrap(42);
        assertEquals(bootstrap.difference(a, b), bootstrap.difference(a, b), "each call restarts from the seed");
        assertNotEquals(bootstrap.difference(a, b), new PairedBootstrap(43).difference(a, b));
    }

    @Test
    void formatsInSignedPoints() {
        assertEquals("+1.2 [-0.3, +2.6]", new Estimate(0.012, -0.003, 0.026).format());
        assertEquals("+85.3 [+84.1, +86.5]", new Estimate(0.853, 0.841, 0.865).format());
        assertEquals("+0.0 [-0.1, +0.0]", new Estimate(-0.0004, -0.0012, -0.0001).format());
        assertTrue(new Estimate(-0.02, -0.03, -0.01).significant());
        assertFalse(new Estimate(0.01, 0.0, 0.02).significant(), "an interval touching 0 does not exclude it");
    }

    @Test
    void rejectsMismatchedInputs() {
        PairedBootstrap bootstrap = new PairedBootstrap(1);
        assertThrows(IllegalArgumentException.class, () -> bootstrap.difference(new boolean[3], new boolean[4]));
        assertThrows(IllegalArgumentException.class, () -> bootstrap.accuracy(new boolean[0]));
        assertThrows(
                IllegalArgumentException.class, () -> bootstrap.meanDifference(List.of(new boolean[2]), List.of()));
        assertThrows(IllegalArgumentException.class, () -> bootstrap.meanAccuracy(List.of()));
        assertThrows(IllegalArgumentException.class, () -> new PairedBootstrap(0, 1));
    }

    @Test
    void realValuedScoreDifferencesArePairedPerExample() {
        PairedBootstrap bootstrap = new PairedBootstrap(11);
        java.util.Random random = new java.util.Random(3);
        double[] a = new double[200], shifted = new double[200], noisy = new double[200];
        for (int i = 0; i < a.length; i++) {
            a[i] = 4 + random.nextGaussian(); // per-window difficulty varies a lot ...
            shifted[i] = a[i] + 0.05; // ... but the paired difference is exactly 0.05
            noisy[i] = a[i] + 0.05 + 0.2 * random.nextGaussian();
        }
        Estimate same = bootstrap.meanScoreDifference(List.of(a), List.of(a));
        assertEquals(0.0, same.value());
        assertEquals(0.0, same.low());
        assertEquals(0.0, same.high());
        Estimate exact = bootstrap.meanScoreDifference(List.of(shifted), List.of(a));
        assertEquals(0.05, exact.value(), 1e-12);
        assertEquals(0.05, exact.low(), 1e-9);
        assertEquals(0.05, exact.high(), 1e-9);
        Estimate e = bootstrap.meanScoreDifference(List.of(noisy, shifted), List.of(a, a));
        assertTrue(e.low() < e.value() && e.value() < e.high() && e.significant(), e.toString());
        assertTrue(
                e.high() - e.low() < 0.1,
                "paired: the interval reflects the 0.2 noise, not the per-window spread of 1: " + e);
        assertThrows(
                IllegalArgumentException.class,
                () -> bootstrap.meanScoreDifference(List.of(a), List.of(new double[3])));
    }

    @Test
    void seedsAndExamplesWidensWithSeedNoiseAndCentresOnTheMean() {
        Random random = new Random(3);
        PairedBootstrap bootstrap = new PairedBootstrap(1000, 5);
        int n = 500;
        double[] base = new double[n];
        for (int i = 0; i < n; i++)
            base[i] = random.nextDouble() < 0.5 ? 0.02 : -0.01; // per-example differences, mean ~0.005
        // three seeds that agree, and three whose means scatter by +-2 points around the same centre
        List<double[]> agreeing = List.of(base, base, base);
        List<double[]> scattered = List.of(shifted(base, -0.02), shifted(base, 0.0), shifted(base, 0.02));
        Estimate calm = bootstrap.seedsAndExamples(agreeing), noisy = bootstrap.seedsAndExamples(scattered);
        assertEquals(calm.value(), noisy.value(), 1e-12, "same mean over seeds and examples");
        assertTrue(width(noisy) > 3 * width(calm), "seed noise must widen the interval: " + calm + " vs " + noisy);
        assertTrue(calm.low() <= calm.value() && calm.value() <= calm.high());
        assertEquals(
                calm.value(),
                bootstrap
                        .meanScoreDifference(List.of(base), List.of(new double[n]))
                        .value(),
                1e-12);
        assertThrows(IllegalArgumentException.class, () -> bootstrap.seedsAndExamples(List.of()));
        assertThrows(IllegalArgumentException.class, () -> bootstrap.seedsAndExamples(List.of(base, new double[3])));
    }

    private static double[] shifted(double[] x, double by) {
        double[] out = x.clone();
        for (int i = 0; i < out.length; i++) out[i] += by;
        return out;
    }
}
