package ai.coalora.engine.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class NearestLevelTest {
    /** Reference: count of thresholds strictly below x, by linear scan. */
    private static int reference(float[] levels, float x) {
        int count = 0;
        for (int i = 0; i + 1 < levels.length; i++) if (0.5f * (levels[i] + levels[i + 1]) < x) count++;
        return count;
    }

    @Test
    void agreesWithALinearScanEverywhereIncludingTiesAndOutliers() {
        Random r = new Random(9);
        for (int k : QuantConfig.WEIGHT_BITS) {
            float[] levels = NormalFloat.codebook(k);
            NearestLevel search = NormalFloat.nearestLevel(k);
            for (int i = 0; i + 1 < levels.length; i++) {
                float mid = 0.5f * (levels[i] + levels[i + 1]);
                for (float x : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid), levels[i]}) {
                    assertEquals(reference(levels, x), search.indexOf(x), "k=" + k + " x=" + x);
                }
            }
            for (int i = 0; i < 200_000; i++) {
                float x = (float) (r.nextGaussian() * 0.6);
                assertEquals(reference(levels, x), search.indexOf(x), "k=" + k + " x=" + x);
            }
            for (float x : new float[] {
                -1f,
                1f,
                -1.5f,
                7f,
                Float.MAX_VALUE,
                -Float.MAX_VALUE,
                0f,
                -0f,
                Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY
            }) {
                assertEquals(reference(levels, x), search.indexOf(x), "k=" + k + " x=" + x);
            }
        }
    }
}
