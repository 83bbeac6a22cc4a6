package ai.coalora.engine.search;

/**
 * Cholesky factor A = L L^T of a symmetric positive-definite matrix, with escalating diagonal jitter: kernel
 * matrices of near-duplicate inputs are positive definite only in exact arithmetic.
 */
final class Cholesky {
    private static final double[] JITTERS = {0, 1e-10, 1e-8, 1e-6};

    final double[][] lower;
    /** Jitter (relative to the mean diagonal) that had to be added; 0 for a well-conditioned matrix. */
    final double jitter;

    private Cholesky(double[][] lower, double jitter) {
        this.lower = lower;
        this.jitter = jitter;
    }

    /** Factorises {@code a} (left untouched); throws if it is not positive definite even with the largest jitter. */
    static Cholesky of(double[][] a) {
        int n = a.length;
        double meanDiagonal = 0;
        for (int i = 0; i < n; i++) meanDiagonal += a[i][i] / n;
        for (double jitter : JITTERS) {
            double[][] l = factor(a, jitter * meanDiagonal);
            if (l != null) return new Cholesky(l, jitter);
        }
        throw new ArithmeticException("matrix of size " + n + " is not positive definite even with jitter "
                + JITTERS[JITTERS.length - 1] + " x mean diagonal");
    }

    private static double[][] factor(double[][] a, double jitter) {
        int n = a.length;
        double[][] l = new double[n][];
        for (int i = 0; i < n; i++) {
            l[i] = new double[i + 1];
            for (int j = 0; j <= i; j++) {
                double s = a[i][j] + (i == j ? jitter : 0);
                for (int k = 0; k < j; k++) s -= l[i][k] * l[j][k];
                if (i == j) {
                    if (!(s > 0)) return null; // also catches NaN
                    l[i][i] = Math.sqrt(s);
                } else {
                    l[i][j] = s / l[j][j];
                }
            }
        }
        return l;
    }

    /** Solves L v = b (forward substitution). */
    double[] forward(double[] b) {
        int n = lower.length;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            double s = b[i];
            double[] row = lower[i];
            for (int k = 0; k < i; k++) s -= row[k] * v[k];
            v[i] = s / row[i];
        }
        return v;
    }

    /** Solves L^T x = v (back substitution). */
    double[] backward(double[] v) {
        int n = lower.length;
        double[] x = new double[n];
        for (int i = n - 1; i >= 0; i--) {
            double s = v[i];
            for (int k = i + 1; k < n; k++) s -= lower[k][i] * x[k];
            x[i] = s / lower[i][i];
        }
        return x;
    }

    /** Solves A x = b. */
    double[] solve(double[] b) {
        return backward(forward(b));
    }

    /** log det A = 2 sum log L_ii. */
    double logDeterminant() {
        double s = 0;
        for (int i = 0; i < lower.length; i++) s += Math.log(lower[i][i]);
        return 2 * s;
    }
}
