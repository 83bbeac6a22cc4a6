package ai.coalora.engine.search;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Gaussian-process regression, the paper's surrogate for the task loss: it predicts the loss of an unevaluated
 * configuration with an uncertainty, which is what expected hypervolume improvement needs.
 *
 * <p>Kernel: Matern-5/2, k(r) = s2 (1 + sqrt5 r/l + 5r^2/(3l^2)) exp(-sqrt5 r/l), plus noise n2 on the diagonal
 * (losses are measured on a finite batch, and the model moves between epochs). Targets are standardised. The
 * length-scale l and the noise ratio n2/s2 are chosen on a small grid by the log marginal likelihood, with s2
 * profiled out in closed form (for fixed l and ratio the best s2 is y^T C^-1 y / n), so one Cholesky per grid point.
 * The length-scale grid is scaled by the median pairwise distance of the inputs, so any feature encoding works.
 */
public final class GaussianProcess {
    static final double[] LENGTH_SCALE_FACTORS = {0.125, 0.25, 0.5, 1, 2, 4, 8};
    static final double[] NOISE_RATIOS = {1e-6, 1e-4, 1e-3, 1e-2, 1e-1};
    private static final double SQRT5 = Math.sqrt(5);

    /** Mean and standard deviation of the predicted (noise-free) loss. */
    public record Prediction(double mean, double sd) {}

    private final List<double[]> inputs;
    private final double lengthScale;
    private final double signalVariance; // in standardised units
    private final double noiseVariance; // in standardised units
    private final double logMarginalLikelihood;
    private final double yMean;
    private final double yScale;
    private final Cholesky cholesky;
    private final double[] alpha; // K^-1 y (standardised)

    private GaussianProcess(
            List<double[]> inputs,
            double lengthScale,
            double signalVariance,
            double noiseVariance,
            double logMarginalLikelihood,
            double yMean,
            double yScale,
            Cholesky cholesky,
            double[] alpha) {
        this.inputs = inputs;
        this.lengthScale = lengthScale;
        this.signalVariance = signalVariance;
        this.noiseVariance = noiseVariance;
        this.logMarginalLikelihood = logMarginalLikelihood;
        this.yMean = yMean;
        this.yScale = yScale;
        this.cholesky = cholesky;
        this.alpha = alpha;
    }

    /** Fits the hyperparameters and the posterior; throws IllegalArgumentException on bad data. */
    public static GaussianProcess fit(List<double[]> x, double[] y) {
        if (x == null || y == null) throw new IllegalArgumentException("GP fit: null inputs or targets");
        int n = x.size();
        if (n == 0) throw new IllegalArgumentException("GP fit: need at least one training point");
        if (y.length != n) throw new IllegalArgumentException("GP fit: " + n + " inputs but " + y.length + " targets");
        int d = x.get(0).length;
        List<double[]> inputs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            double[] xi = x.get(i);
            if (xi.length != d)
                throw new IllegalArgumentException(
                        "GP fit: input " + i + " has " + xi.length + " features, expected " + d);
            for (double v : xi)
                if (!Double.isFinite(v))
                    throw new IllegalArgumentException(
                            "GP fit: input " + i + " has a non-finite feature " + Arrays.toString(xi));
            if (!Double.isFinite(y[i])) throw new IllegalArgumentException("GP fit: target " + i + " is " + y[i]);
            inputs.add(xi.clone());
        }

        // Standardise targets so the grids mean the same thing for any loss scale.
        double mean = Arrays.stream(y).average().orElseThrow();
        double var = 0;
        for (double v : y) var += (v - mean) * (v - mean) / n;
        double scale = var > 0 ? Math.sqrt(var) : 1;
        double[] z = new double[n];
        for (int i = 0; i < n; i++) z[i] = (y[i] - mean) / scale;

        double[][] dist = new double[n][n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++) dist[i][j] = dist[j][i] = distance(inputs.get(i), inputs.get(j));
        double median = medianOffDiagonal(dist);

        GaussianProcess best = null;
        ArithmeticException lastFailure = null;
        for (double factor : LENGTH_SCALE_FACTORS) {
            double l = factor * median;
            double[][] corr = new double[n][n];
            for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) corr[i][j] = corr[j][i] = matern(dist[i][j], l);
            for (double ratio : NOISE_RATIOS) {
                double[][] c = new double[n][];
                for (int i = 0; i < n; i++) {
                    c[i] = corr[i].clone();
                    c[i][i] += ratio;
                }
                Cholesky chol;
                try {
                    chol = Cholesky.of(c);
                } catch (ArithmeticException e) { // this grid point is unusable; the others decide
                    lastFailure = e;
                    continue;
                }
                double[] a = chol.solve(z);
                double quad = 0;
                for (int i = 0; i < n; i++) quad += z[i] * a[i];
                double s2 = Math.max(quad / n, 1e-12); // profiled signal variance
                double lml = -0.5 * n * Math.log(s2)
                        - 0.5 * chol.logDeterminant()
                        - 0.5 * n
                        - 0.5 * n * Math.log(2 * Math.PI);
                if (best == null || lml > best.logMarginalLikelihood) {
                    for (int i = 0; i < n; i++) a[i] /= s2; // alpha for K = s2 * C
                    best = new GaussianProcess(inputs, l, s2, ratio * s2, lml, mean, scale, chol, a);
                }
            }
        }
        if (best == null) {
            throw new IllegalStateException(
                    "GP fit: no hyperparameters gave a positive-definite kernel matrix for " + n + " points",
                    lastFailure);
        }
        return best;
    }

    /** Posterior of the noise-free loss at {@code x}. */
    public Prediction predict(double[] x) {
        if (x.length != inputs.get(0).length) {
            throw new IllegalArgumentException(
                    "GP predict: " + x.length + " features, expected " + inputs.get(0).length);
        }
        int n = inputs.size();
        double[] k = new double[n]; // correlations; K = s2 * C, and the Cholesky is of C + ratio I
        double m = 0;
        for (int i = 0; i < n; i++) {
            k[i] = matern(distance(x, inputs.get(i)), lengthScale);
            m += signalVariance * k[i] * alpha[i];
        }
        double[] v = cholesky.forward(k);
        double explained = 0;
        for (double vi : v) explained += vi * vi;
        double var = signalVariance * Math.max(0, 1 - explained);
        return new Prediction(yMean + yScale * m, yScale * Math.sqrt(var));
    }

    public double lengthScale() {
        return lengthScale;
    }

    /** Signal and noise variances in the units of the targets. */
    public double signalVariance() {
        return signalVariance * yScale * yScale;
    }

    public double noiseVariance() {
        return noiseVariance * yScale * yScale;
    }

    public double logMarginalLikelihood() {
        return logMarginalLikelihood;
    }

    public int size() {
        return inputs.size();
    }

    static double matern(double r, double lengthScale) {
        double u = SQRT5 * r / lengthScale;
        return (1 + u + u * u / 3) * Math.exp(-u);
    }

    static double distance(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double t = a[i] - b[i];
            s += t * t;
        }
        return Math.sqrt(s);
    }

    /** Median of the positive pairwise distances (1 if all inputs coincide). */
    private static double medianOffDiagonal(double[][] dist) {
        int n = dist.length;
        double[] all = new double[n * (n - 1) / 2];
        int c = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) if (dist[i][j] > 0) all[c++] = dist[i][j];
        if (c == 0) return 1;
        double[] positive = Arrays.copyOf(all, c);
        Arrays.sort(positive);
        return positive[c / 2];
    }
}
