package ai.coalora.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The optimizer against the AdamW formula written out in doubles. */
class AdamWTest {
    static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

    @Test
    void stepsFollowAdamWWithGlobalNormClippingAndPerGroupRatesAndDecay() {
        float[] w0 = {1f, -2f, 3f}, u0 = {0.5f, 0.25f};
        float[] cw = {0.3f, -1.2f, 2.0f}, cu = {4f, -0.5f}; // gradients: loss = sum(c * p)
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(w0), u = m.create(u0);
            w.setRequiresGradient(true);
            u.setRequiresGradient(true);
            float clipNorm = 1f, lr = 0.1f;
            try (AdamW adam = new AdamW(
                    List.of(new AdamW.Group("w", List.of(w), 1f, 0.01f), new AdamW.Group("u", List.of(u), 0.5f, 0f)),
                    clipNorm,
                    m)) {
                double[] rw = toDouble(w0),
                        ru = toDouble(u0),
                        mw = new double[3],
                        vw = new double[3],
                        mu = new double[2],
                        vu = new double[2];
                for (int t = 1; t <= 3; t++) {
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        gc.backward(w.mul(m.create(cw))
                                .sum()
                                .add(u.mul(m.create(cu)).sum()));
                    }
                    float norm = adam.step(lr);
                    double expectedNorm = Math.sqrt(sumSq(cw) + sumSq(cu));
                    assertEquals(expectedNorm, norm, 1e-5);
                    double clip = expectedNorm > clipNorm ? clipNorm / (expectedNorm + 1e-6) : 1;
                    reference(rw, mw, vw, cw, clip, lr, 0.01, t);
                    reference(ru, mu, vu, cu, clip, lr * 0.5, 0, t);
                    assertArrayEquals(toFloat(rw), w.toFloatArray(), 1e-5f, "w after step " + t);
                    assertArrayEquals(toFloat(ru), u.toFloatArray(), 1e-5f, "u after step " + t);
                    assertArrayEquals(new float[3], w.getGradient().toFloatArray(), "the gradient is reset");
                }
                double[] norms = adam.lastGroupNorms();
                assertEquals(Math.sqrt(sumSq(cw)), norms[0], 1e-5);
                assertEquals(Math.sqrt(sumSq(cu)), norms[1], 1e-5);
            }
        }
    }

    @Test
    void aNonFiniteGradientIsRejectedAndLeavesTheParametersAlone() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new float[] {1f, 2f});
            w.setRequiresGradient(true);
            try (AdamW adam = new AdamW(List.of(w), 0f, 1f, m)) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(w.mul(m.create(new float[] {Float.NaN, 1f})).sum());
                }
                assertFalse(Float.isFinite(adam.step(0.1f)));
                assertEquals(1, adam.rejectedGradients());
                assertArrayEquals(new float[] {1f, 2f}, w.toFloatArray());
                assertArrayEquals(new float[2], w.getGradient().toFloatArray(), "the bad gradient is cleared");
            }
        }
    }

    /** One AdamW step in doubles: decoupled decay, then the bias-corrected Adam update. */
    static void reference(
            double[] p, double[] m, double[] v, float[] grad, double clip, double rate, double decay, int t) {
        double bc1 = 1 - Math.pow(BETA1, t), bc2 = 1 - Math.pow(BETA2, t);
        for (int i = 0; i < p.length; i++) {
            double g = grad[i] * clip;
            m[i] = BETA1 * m[i] + (1 - BETA1) * g;
            v[i] = BETA2 * v[i] + (1 - BETA2) * g * g;
            p[i] *= 1 - rate * decay;
            p[i] -= rate * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + EPS);
        }
    }

    static double sumSq(float[] x) {
        double s = 0;
        for (float f : x) s += (double) f * f;
        return s;
    }

    static double[] toDouble(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i];
        return out;
    }

    static float[] toFloat(double[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) x[i];
        return out;
    }
}
