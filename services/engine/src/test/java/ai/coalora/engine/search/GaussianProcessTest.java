package ai.coalora.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GaussianProcessTest {
    private static List<double[]> points(double... xs) {
        List<double[]> out = new ArrayList<>();
        for (double x : xs) out.add(new double[] {x});
        return out;
    }

    private static double f(double x) {
        return Math.sin(3 * x) + 0.5 * x;
    }

    @Test
    void interpolatesTrainingPoints() {
        double[] xs = {0, 0.2, 0.45, 0.7, 0.9, 1.1, 1.35, 1.6, 1.8, 2.0}; // dense enough to tell signal from noise
        double[] ys = new double[xs.length];
        for (int i = 0; i < xs.length; i++) ys[i] = f(xs[i]);
        GaussianProcess gp = GaussianProcess.fit(points(xs), ys);
        for (int i = 0; i < xs.length; i++) {
            GaussianProcess.Prediction p = gp.predict(new double[] {xs[i]});
            assertEquals(ys[i], p.mean(), 1e-2);
            assertTrue(p.sd() < 0.05, "sd at a training point " + p.sd());
        }
    }

    @Test
    void varianceGrowsAwayFromData() {
        GaussianProcess gp = GaussianProcess.fit(points(0, 0.5, 1), new double[] {f(0), f(0.5), f(1)});
        double near = gp.predict(new double[] {1.05}).sd();
        double mid = gp.predict(new double[] {1.5}).sd();
        double far = gp.predict(new double[] {5}).sd();
        assertTrue(near < mid && mid < far, near + " < " + mid + " < " + far);
    }

    @Test
    void recoversASmooth1dFunction() {
        int n = 25;
        double[] xs = new double[n];
        double[] ys = new double[n];
        for (int i = 0; i < n; i++) {
            xs[i] = 3.0 * i / (n - 1);
            ys[i] = f(xs[i]);
        }
        GaussianProcess gp = GaussianProcess.fit(points(xs), ys);
        double worst = 0;
        for (double x = 0.05; x < 3; x += 0.1)
            worst = Math.max(worst, Math.abs(gp.predict(new double[] {x}).mean() - f(x)));
        assertTrue(worst < 0.02, "max error " + worst);
        assertTrue(gp.noiseVariance() < 1e-2 * gp.signalVariance());
    }

    @Test
    void handlesDuplicateInputsAndConstantTargets() {
        GaussianProcess gp = GaussianProcess.fit(points(1, 1, 2), new double[] {3, 3, 3});
        assertEquals(3, gp.predict(new double[] {1.5}).mean(), 1e-9);
    }

    @Test
    void rejectsBadData() {
        assertThrows(IllegalArgumentException.class, () -> GaussianProcess.fit(points(), new double[0]));
        assertThrows(IllegalArgumentException.class, () -> GaussianProcess.fit(points(1, 2), new double[] {1}));
        assertThrows(
                IllegalArgumentException.class, () -> GaussianProcess.fit(points(1, 2), new double[] {1, Double.NaN}));
        assertThrows(
                IllegalArgumentException.class, () -> GaussianProcess.fit(points(1, Double.NaN), new double[] {1, 2}));
        GaussianProcess gp = GaussianProcess.fit(points(1, 2), new double[] {1, 2});
        assertThrows(IllegalArgumentException.class, () -> gp.predict(new double[] {1, 2}));
    }
}
