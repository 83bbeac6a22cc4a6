package ai.coalora.engine.quant;

import java.util.Arrays;

/**
 * NormalFloat-k codebooks (QLoRA's NF4 generalised to k bits) and the standard normal functions they need.
 *
 * <p>Construction (method.md): with offset {@code o = 0.9677083}, take 2^(k-1) probabilities
 * {@code linspace(1-o, 0.5, 2^(k-1))} and 2^(k-1)+1 probabilities {@code linspace(0.5, o, 2^(k-1)+1)}, drop the
 * duplicate 0.5, map through the normal inverse CDF and divide by the largest magnitude. That gives 2^k sorted
 * levels: 2^(k-1)-1 negatives, an exact 0 and 2^(k-1) positives, with extremes exactly -1 and +1.
 *
 * <p>This is the same set as QLoRA's {@code create_normal_map(offset=0.9677083, use_extra_value=True)}, which
 * writes the negatives as {@code -ppf(linspace(o, 0.5, 2^(k-1))[:-1])} and the positives as
 * {@code ppf(linspace(o, 0.5, 2^(k-1)+1)[:-1])}: by the symmetry ppf(1-p) = -ppf(p) the two agree. We compute
 * the negatives in QLoRA's form so that the lowest level is exactly -1 (1-o is not exact in binary); the result
 * matches QLoRA's published NF4 table to within 1e-7 (their probabilities were float32).
 */
public final class NormalFloat {
    /** QLoRA's offset: the outermost quantile probability. */
    public static final double OFFSET = 0.9677083;

    private static final float[][] CODEBOOKS = new float[9][];
    private static final NearestLevel[] SEARCH = new NearestLevel[9];

    static {
        for (int k : QuantConfig.WEIGHT_BITS) {
            CODEBOOKS[k] = build(k);
            SEARCH[k] = new NearestLevel(CODEBOOKS[k]);
        }
    }

    private NormalFloat() {}

    /** The sorted 2^k levels of NF-k (a copy). k must be one of 2, 3, 4, 8 (cached) or any 2..8 (built). */
    public static float[] codebook(int k) {
        return levels(k).clone();
    }

    /** Shared, not copied: callers inside the package must not modify it. */
    static float[] levels(int k) {
        if (k < 2 || k > 8) throw new IllegalArgumentException("NF bits must be in 2..8, got " + k);
        float[] cached = CODEBOOKS[k];
        return cached != null ? cached : build(k);
    }

    /** Nearest-level search over the NF-k codebook (cached for the configuration space's k). */
    static NearestLevel nearestLevel(int k) {
        NearestLevel cached = k >= 2 && k <= 8 ? SEARCH[k] : null;
        return cached != null ? cached : new NearestLevel(levels(k));
    }

    private static float[] build(int k) {
        int half = 1 << (k - 1);
        double[] values = new double[2 * half];
        int n = 0;
        double[] neg = linspace(OFFSET, 0.5, half); // last one is 0.5 -> the exact zero
        for (int i = 0; i < half - 1; i++) values[n++] = -inverseCdf(neg[i]);
        values[n++] = 0.0;
        double[] pos = linspace(OFFSET, 0.5, half + 1);
        for (int i = 0; i < half; i++) values[n++] = inverseCdf(pos[i]);
        Arrays.sort(values);
        double maxAbs = Math.max(-values[0], values[values.length - 1]);
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) (values[i] / maxAbs);
        return out;
    }

    /** numpy/torch linspace: n points from a to b inclusive. */
    private static double[] linspace(double a, double b, int n) {
        double[] out = new double[n];
        double step = (b - a) / (n - 1);
        for (int i = 0; i < n; i++) out[i] = a + i * step;
        out[n - 1] = b;
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // Standard normal distribution

    private static final double SQRT2 = Math.sqrt(2.0);
    private static final double SQRT_2PI = Math.sqrt(2.0 * Math.PI);

    /** Standard normal CDF, accurate to about 1e-15 relative (via {@link #erfc}). */
    public static double cdf(double x) {
        return 0.5 * erfc(-x / SQRT2);
    }

    /**
     * Standard normal inverse CDF (probit). Acklam's rational approximation (relative error 1.15e-9) refined by
     * Halley steps on the exact CDF, which brings it to double precision.
     */
    public static double inverseCdf(double p) {
        if (!(p > 0.0 && p < 1.0)) {
            if (p == 0.0) return Double.NEGATIVE_INFINITY;
            if (p == 1.0) return Double.POSITIVE_INFINITY;
            throw new IllegalArgumentException("probability must be in [0, 1], got " + p);
        }
        double x = acklam(p);
        for (int i = 0; i < 3; i++) {
            // Halley: e = F(x) - p; u = e / f(x); x -= u / (1 + x u / 2). Use the tail where F is small.
            double e = p < 0.5 ? cdf(x) - p : -(cdf(-x) - (1.0 - p));
            double u = e * SQRT_2PI * Math.exp(0.5 * x * x);
            double next = x - u / (1.0 + 0.5 * x * u);
            if (next == x) break;
            x = next;
        }
        return x;
    }

    private static double acklam(double p) {
        final double[] a = {
            -3.969683028665376e+01,
            2.209460984245205e+02,
            -2.759285104469687e+02,
            1.383577518672690e+02,
            -3.066479806614716e+01,
            2.506628277459239e+00
        };
        final double[] b = {
            -5.447609879822406e+01,
            1.615858368580409e+02,
            -1.556989798598866e+02,
            6.680131188771972e+01,
            -1.328068155288572e+01
        };
        final double[] c = {
            -7.784894002430293e-03,
            -3.223964580411365e-01,
            -2.400758277161838e+00,
            -2.549732539343734e+00,
            4.374664141464968e+00,
            2.938163982698783e+00
        };
        final double[] d = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
        final double pLow = 0.02425;
        if (p < pLow) {
            double q = Math.sqrt(-2.0 * Math.log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                    / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
        }
        if (p > 1.0 - pLow) return -acklam(1.0 - p);
        double q = p - 0.5;
        double r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
                * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }

    /**
     * Complementary error function. For |z| < 1 the series erf(z) = 2/sqrt(pi) e^{-z^2} sum (2z^2)^n z / (2n+1)!!
     * (all terms positive, so no cancellation); for z >= 1 the Laplace continued fraction, which keeps full
     * relative precision in the tail.
     */
    public static double erfc(double z) {
        if (Double.isNaN(z)) return Double.NaN;
        if (z < 0) return 2.0 - erfc(-z);
        if (z < 1.0) return 1.0 - erfSeries(z);
        if (z > 27.3) return 0.0; // underflows
        // erfc(z) = e^{-z^2}/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...))))), evaluated bottom-up.
        double f = z;
        for (int n = 200; n >= 1; n--) f = z + (n * 0.5) / f;
        return Math.exp(-z * z) / (Math.sqrt(Math.PI) * f);
    }

    private static double erfSeries(double z) {
        double z2 = 2.0 * z * z;
        double term = z;
        double sum = z;
        for (int n = 1; n < 200; n++) {
            term *= z2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return 2.0 / Math.sqrt(Math.PI) * Math.exp(-z * z) * sum;
    }
}
