package ai.coalora.engine.stats;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * 95% percentile-bootstrap confidence intervals for accuracies on a test set, so that a reported gain comes with
 * its uncertainty from the finite test set.
 *
 * <p>Comparisons are paired: each bootstrap replicate resamples test example indices once and applies the same
 * indices to every method and configuration, since they were all evaluated on the same examples. That removes
 * the per-example difficulty shared by both sides, which gives much tighter intervals than unpaired ones.
 *
 * <p>Every statistic here is a mean, over the resampled examples, of one per-example score (the mean over
 * configurations of a[i] - b[i]), so one replicate costs n draws whatever the number of configurations. Each
 * call restarts from the seed: the same inputs give the same interval.
 */
public final class PairedBootstrap {
    public static final int DEFAULT_RESAMPLES = 2000;
    private static final double LEVEL = 0.95;

    private final int resamples;
    private final long seed;

    public PairedBootstrap(int resamples, long seed) {
        if (resamples < 1) throw new IllegalArgumentException("need at least one resample, got " + resamples);
        this.resamples = resamples;
        this.seed = seed;
    }

    public PairedBootstrap(long seed) {
        this(DEFAULT_RESAMPLES, seed);
    }

    /**
     * A point estimate with its 95% interval, all as fractions (accuracy 0.853, gap -0.012).
     */
    public record Estimate(double value, double low, double high) {
        /** The interval excludes 0: the difference is significant at the 5% level (two-sided). */
        public boolean significant() {
            return low > 0 || high < 0;
        }

        /** In points (x100), signed, one decimal: {@code +1.2 [-0.3, +2.6]}. */
        public String format() {
            return points(value) + " [" + points(low) + ", " + points(high) + "]";
        }

        private static String points(double fraction) {
            // rounded first, so that e.g. -0.0004 prints as +0.0, not -0.0
            return String.format(Locale.ROOT, "%+.1f", Math.round(fraction * 1000) / 10.0);
        }
    }

    /** Accuracy of one method: fraction of true entries. */
    public Estimate accuracy(boolean[] correct) {
        return meanAccuracy(List.of(correct));
    }

    /** acc(a) - acc(b), for two methods evaluated on the same examples. */
    public Estimate difference(boolean[] a, boolean[] b) {
        return meanDifference(List.of(a), List.of(b));
    }

    /** Mean accuracy over configurations, each evaluated on the same test examples. */
    public Estimate meanAccuracy(List<boolean[]> configurations) {
        return bootstrap(configurations, List.of());
    }

    /**
     * Mean over configurations k of acc(as[k]) - acc(bs[k]): e.g. our method against a baseline at each of
     * several quantization configurations, all on the same test examples.
     */
    public Estimate meanDifference(List<boolean[]> as, List<boolean[]> bs) {
        if (as.size() != bs.size())
            throw new IllegalArgumentException(as.size() + " configurations against " + bs.size());
        return bootstrap(as, bs);
    }

    /**
     * Mean over configurations k of mean(as[k]) - mean(bs[k]) for real-valued per-example scores (e.g. a language
     * model's mean cross entropy per held-out window), all on the same examples.
     */
    public Estimate meanScoreDifference(List<double[]> as, List<double[]> bs) {
        if (as.isEmpty() || as.size() != bs.size())
            throw new IllegalArgumentException(as.size() + " configurations against " + bs.size());
        int n = as.get(0).length;
        if (n == 0) throw new IllegalArgumentException("no test examples");
        double[] net = new double[n];
        for (int k = 0; k < as.size(); k++) {
            if (as.get(k).length != n || bs.get(k).length != n)
                throw new IllegalArgumentException("configurations cover different examples");
            for (int i = 0; i < n; i++) net[i] += as.get(k)[i] - bs.get(k)[i];
        }
        double scale = 1.0 / ((double) n * as.size());
        double[] replicates = new double[resamples];
        SplittableRandom random = new SplittableRandom(seed);
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += net[random.nextInt(n)];
            replicates[r] = sum * scale;
        }
        return estimate(Arrays.stream(net).sum() * scale, replicates);
    }

    /**
     * The mean of per-example scores over training seeds and test examples, with an interval that covers both sources
     * of noise: each replicate draws seeds with replacement and, independently, test examples with replacement (the same
     * examples for every drawn seed, since every seed was tested on the same examples), and averages the drawn seeds'
     * scores on the drawn examples. {@code perSeed.get(s)[i]} is seed s's score on example i, e.g. the accuracy of a
     * method minus a baseline's on that example, averaged over devices.
     */
    public Estimate seedsAndExamples(List<double[]> perSeed) {
        if (perSeed.isEmpty()) throw new IllegalArgumentException("no seeds");
        int seeds = perSeed.size(), n = perSeed.get(0).length;
        if (n == 0) throw new IllegalArgumentException("no test examples");
        for (double[] s : perSeed)
            if (s.length != n) throw new IllegalArgumentException("seeds cover different examples");
        double total = 0;
        for (double[] s : perSeed) for (double x : s) total += x;
        double[] replicates = new double[resamples];
        SplittableRandom random = new SplittableRandom(seed);
        int[] drawnSeeds = new int[seeds];
        for (int r = 0; r < resamples; r++) {
            for (int k = 0; k < seeds; k++) drawnSeeds[k] = random.nextInt(seeds);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                int example = random.nextInt(n);
                for (int k : drawnSeeds) sum += perSeed.get(k)[example];
            }
            replicates[r] = sum / ((double) n * seeds);
        }
        return estimate(total / ((double) n * seeds), replicates);
    }

    /** Mean over the configurations in {@code as} minus mean over those in {@code bs} (none: minus 0). */
    private Estimate bootstrap(List<boolean[]> as, List<boolean[]> bs) {
        if (as.isEmpty()) throw new IllegalArgumentException("no configurations");
        int n = as.get(0).length;
        if (n == 0) throw new IllegalArgumentException("no test examples");

        // net[i]: how many of the a configurations got example i right, minus how many of the b ones did.
        // Integer counts keep identical sides exactly 0; the statistic is mean(net) / configurations.
        int[] net = new int[n];
        count(net, as, +1);
        count(net, bs, -1);
        double scale = 1.0 / ((double) n * as.size());

        double[] replicates = new double[resamples];
        SplittableRandom random = new SplittableRandom(seed);
        for (int r = 0; r < resamples; r++) {
            long sum = 0;
            for (int i = 0; i < n; i++) sum += net[random.nextInt(n)];
            replicates[r] = sum * scale;
        }
        return estimate(Arrays.stream(net).asLongStream().sum() * scale, replicates);
    }

    /** The point estimate with the percentile interval of its replicates. */
    private static Estimate estimate(double value, double[] replicates) {
        Arrays.sort(replicates);
        double tail = (1 - LEVEL) / 2;
        return new Estimate(value, quantile(replicates, tail), quantile(replicates, 1 - tail));
    }

    private static void count(int[] net, List<boolean[]> configurations, int sign) {
        for (boolean[] correct : configurations) {
            if (correct.length != net.length) {
                throw new IllegalArgumentException(
                        "configurations cover " + net.length + " and " + correct.length + " examples");
            }
            for (int i = 0; i < net.length; i++) if (correct[i]) net[i] += sign;
        }
    }

    /** Linearly interpolated quantile of sorted values (numpy's default). */
    private static double quantile(double[] sorted, double q) {
        double position = q * (sorted.length - 1);
        int below = (int) Math.floor(position);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
