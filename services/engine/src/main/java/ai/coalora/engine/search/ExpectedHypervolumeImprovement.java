package ai.coalora.engine.search;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

/**
 * Expected hypervolume improvement of a candidate whose bits are known exactly and whose loss is predicted as
 * N(mean, sd): the acquisition function of the configuration search.
 *
 * <p>Because bits are exact, EHVI is a 1-D integral. At loss level l the candidate adds the bits interval
 * [bits, min(refBits, m(l))], where m(l) is the smallest bits of a front point with loss <= l; call its length w(l),
 * a non-increasing step function that changes only at front losses. The improvement of a candidate at loss y is
 * HVI(y) = integral_y^refLoss w(l) dl (piecewise linear, non-increasing in y), so
 * E[HVI(Y)] = integral_{-inf}^{refLoss} w(l) P(Y <= l) dl, and on each step of w the integral of the normal cdf
 * has the closed form sd * psi(z), psi(z) = z Phi(z) + phi(z).
 */
public final class ExpectedHypervolumeImprovement {
    private final Objectives reference;
    /** Front inside the reference box, sorted by loss ascending (bits descending). */
    private final List<Objectives> front;

    public ExpectedHypervolumeImprovement(Collection<Objectives> points, Objectives reference) {
        if (reference == null) throw new IllegalArgumentException("reference must not be null");
        this.reference = reference;
        List<Objectives> inside = new ArrayList<>();
        for (Objectives p : points) if (p.loss() < reference.loss() && p.bits() < reference.bits()) inside.add(p);
        this.front = new ArrayList<>(ParetoFront.of(inside));
        Collections.reverse(this.front);
    }

    /** Deterministic improvement of adding (loss, bits) to the front. */
    public double improvement(double loss, double bits) {
        return expected(loss, 0, bits);
    }

    /** E[HVI] for a loss ~ N(mean, sd) and exactly known bits; sd = 0 gives {@link #improvement}. */
    public double expected(double mean, double sd, double bits) {
        if (!Double.isFinite(mean) || !Double.isFinite(bits) || !(sd >= 0) || !Double.isFinite(sd)) {
            throw new IllegalArgumentException(
                    "EHVI needs finite mean, bits and sd >= 0, got mean=" + mean + ", sd=" + sd + ", bits=" + bits);
        }
        if (bits >= reference.bits()) return 0;
        double total = 0;
        double lower = Double.NEGATIVE_INFINITY; // pieces [lower, upper) of constant width w
        double m = reference.bits(); // min(refBits, smallest bits among front points with loss <= level)
        for (int i = 0; i <= front.size(); i++) {
            double upper = i < front.size() ? front.get(i).loss() : reference.loss();
            double width = m - bits;
            if (width <= 0) break; // w stays 0 from here on: the candidate is dominated at these losses
            total += width * cdfIntegral(lower, upper, mean, sd);
            if (i < front.size()) m = Math.min(m, front.get(i).bits());
            lower = upper;
        }
        return Math.max(0, total); // rounding in the far tail can leave -1e-17
    }

    /** integral_a^b P(Y <= l) dl for Y ~ N(mean, sd); a may be -infinity. */
    static double cdfIntegral(double a, double b, double mean, double sd) {
        if (b <= a) return 0;
        if (sd == 0) { // P(Y <= l) is the step at mean
            double from = Math.max(a, mean);
            return b > from ? b - from : 0;
        }
        double psiA = a == Double.NEGATIVE_INFINITY ? 0 : psi((a - mean) / sd);
        return sd * (psi((b - mean) / sd) - psiA);
    }

    /** Antiderivative of Phi: psi(z) = z Phi(z) + phi(z), with psi(-inf) = 0. */
    static double psi(double z) {
        return z * normalCdf(z) + normalPdf(z);
    }

    static double normalPdf(double z) {
        return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
    }

    /** Phi(z) via erfc, accurate in both tails (W. J. Cody's rational approximations are overkill here). */
    static double normalCdf(double z) {
        return 0.5 * erfc(-z / Math.sqrt(2));
    }

    /** Complementary error function, Numerical Recipes' erfcc (fractional error below 1.2e-7 everywhere). */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t
                * Math.exp(
                        -z * z
                                - 1.26551223
                                + t
                                        * (1.00002368
                                                + t
                                                        * (0.37409196
                                                                + t
                                                                        * (0.09678418
                                                                                + t
                                                                                        * (-0.18628806
                                                                                                + t
                                                                                                        * (0.27886807
                                                                                                                + t
                                                                                                                        * (-1.13520398
                                                                                                                                + t
                                                                                                                                        * (1.48851587
                                                                                                                                                + t
                                                                                                                                                        * (-0.82215223
                                                                                                                                                                + t
                                                                                                                                                                        * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
