package ai.coalora.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Type table, and dequantize(quantize(x)) error on Gaussian data per type. */
class GgufTypeTest {
    /** The codec types, from most to least precise. */
    static final List<GgufType> BY_PRECISION = List.of(
            GgufType.F32,
            GgufType.F16,
            GgufType.BF16,
            GgufType.Q8_0,
            GgufType.Q6_K,
            GgufType.Q5_K,
            GgufType.Q4_K,
            GgufType.Q4_0,
            GgufType.Q3_K,
            GgufType.Q2_K);

    /**
     * Upper bounds of the relative RMS error ||x - deq(q(x))|| / ||x|| on 65,536 N(0,1) values (seed 7). Measured:
     * see docs/engine.md "GGUF (format layer)"; each bound is the measured value rounded up with about 10% headroom.
     */
    static final Map<GgufType, Double> BOUND = new EnumMap<>(Map.of(
            GgufType.F16,
            2.5e-4,
            GgufType.BF16,
            1.9e-3,
            GgufType.Q8_0,
            0.006,
            GgufType.Q6_K,
            0.020,
            GgufType.Q5_K,
            0.039,
            GgufType.Q4_K,
            0.082,
            GgufType.Q4_0,
            0.095,
            GgufType.Q3_K,
            0.167,
            GgufType.Q2_K,
            0.325));

    static float[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    static double relativeRms(float[] x, float[] y) {
        double num = 0, den = 0;
        for (int i = 0; i < x.length; i++) {
            double e = (double) x[i] - y[i];
            num += e * e;
            den += (double) x[i] * x[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void idsBlockSizesAndBitsPerWeightAreGgmls() {
        Object[][] table = {
            {GgufType.F32, 0, 1, 4, 32.0},
            {GgufType.F16, 1, 1, 2, 16.0},
            {GgufType.Q4_0, 2, 32, 18, 4.5},
            {GgufType.Q4_1, 3, 32, 20, 5.0},
            {GgufType.Q5_0, 6, 32, 22, 5.5},
            {GgufType.Q5_1, 7, 32, 24, 6.0},
            {GgufType.Q8_0, 8, 32, 34, 8.5},
            {GgufType.Q8_1, 9, 32, 36, 9.0},
            {GgufType.Q2_K, 10, 256, 84, 2.625},
            {GgufType.Q3_K, 11, 256, 110, 3.4375},
            {GgufType.Q4_K, 12, 256, 144, 4.5},
            {GgufType.Q5_K, 13, 256, 176, 5.5},
            {GgufType.Q6_K, 14, 256, 210, 6.5625},
            {GgufType.Q8_K, 15, 256, 292, 9.125},
            {GgufType.BF16, 30, 1, 2, 16.0},
            {GgufType.IQ4_NL, 20, 32, 18, 4.5},
            {GgufType.IQ4_XS, 23, 256, 136, 4.25},
            {GgufType.MXFP4, 39, 32, 17, 4.25},
        };
        for (Object[] row : table) {
            GgufType t = (GgufType) row[0];
            assertEquals(row[1], t.id, t + " id");
            assertEquals(row[2], t.blockSize, t + " block");
            assertEquals(row[3], t.bytesPerBlock, t + " bytes");
            assertEquals((double) row[4], t.bitsPerWeight(), 0.0, t + " bits per weight");
            assertEquals(
                    (double) row[4],
                    t.bitUnitsPerWeight() / (double) ai.coalora.engine.quant.QuantConfig.BIT_UNITS_PER_BIT,
                    0.0);
            assertEquals(t, GgufType.fromId(t.id));
        }
        for (GgufType t : GgufType.values()) assertEquals(t, GgufType.fromId(t.id));
        for (long removed : new long[] {4, 5, 31, 32, 33, 36, 37, 38, 40, 63, 64, -1, 1L << 32}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GgufType.fromId(removed));
            assertTrue(e.getMessage().contains("unknown ggml type id " + removed), e.getMessage());
        }
        assertEquals("q4_K", GgufType.Q4_K.ggmlName());
        assertEquals("q8_0", GgufType.Q8_0.ggmlName());
        assertEquals(GgufType.Q6_K, GgufType.fromName("q6_K"));
        assertEquals(144L * 3, GgufType.Q4_K.byteSize(768));
        assertThrows(IllegalArgumentException.class, () -> GgufType.Q4_K.byteSize(100));
        assertThrows(UnsupportedOperationException.class, () -> GgufType.IQ2_XS.quantize(new float[256]));
    }

    @Test
    void errorOnGaussianDataFallsWithBitsAndStaysWithinTheDocumentedBounds() {
        float[] x = gaussian(1 << 16, 7);
        double previous = -1;
        StringBuilder report = new StringBuilder("relative RMS error, 65536 N(0,1) values:");
        for (GgufType t : BY_PRECISION) {
            byte[] q = t.quantize(x);
            assertEquals(t.byteSize(x.length), q.length, t + " size");
            float[] y = t.dequantize(q);
            double err = relativeRms(x, y);
            report.append(String.format(" %s %.5f (%.4f bits);", t, err, t.bitsPerWeight()));
            if (t == GgufType.F32) assertEquals(0.0, err, t.toString());
            else
                assertTrue(err <= BOUND.get(t), t + ": relative RMS error " + err + " above the bound " + BOUND.get(t));
            if (t != GgufType.BF16 && t != GgufType.F16) {
                // fewer bits, more error (BF16 has fewer mantissa bits than F16 but 16 bits too)
                assertTrue(err > previous, t + " error " + err + " not above the previous type's " + previous);
            }
            previous = Math.max(previous, err);
        }
        System.out.println(report);
    }

    @Test
    void aLinearLayerOnDequantizedWeightsMatchesTheOriginal() {
        int out = 64, in = 512;
        float[] w = gaussian(out * in, 11);
        float[] v = gaussian(in, 12);
        float[] ref = matVec(w, v, out, in);
        StringBuilder report = new StringBuilder("W x relative RMS error (64 x 512):");
        for (GgufType t : BY_PRECISION) {
            if (t == GgufType.F32) continue;
            float[] y = matVec(t.dequantize(t.quantize(w)), v, out, in);
            double err = relativeRms(ref, y);
            report.append(String.format(" %s %.5f;", t, err));
            // independent rounding errors add in quadrature: the output error tracks the weights' error
            assertTrue(err <= 1.5 * BOUND.get(t), t + ": output error " + err);
        }
        System.out.println(report);
    }

    static float[] matVec(float[] w, float[] v, int out, int in) {
        float[] y = new float[out];
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int i = 0; i < in; i++) s += (double) w[o * in + i] * v[i];
            y[o] = (float) s;
        }
        return y;
    }

    @Test
    void scaledShiftedAndConstantBlocksRoundTrip() {
        for (GgufType t : BY_PRECISION) {
            float[] zeros = new float[512];
            assertArrayEquals(zeros, t.dequantize(t.quantize(zeros)), 0f, t + " zeros");
            float[] x = gaussian(4096, 3);
            double bound = BOUND.getOrDefault(t, 1e-9);
            // LLM-sized weights (std 0.02) and smaller: the block scales are fp16 subnormals there, yet the error
            // stays relative (super-block scales are rounded up in magnitude so no sub-block scale clips)
            for (float std : new float[] {0.02f, 1e-3f}) {
                float[] small = new float[x.length];
                for (int i = 0; i < x.length; i++) small[i] = x[i] * std;
                double err = relativeRms(small, t.dequantize(t.quantize(small)));
                assertTrue(err <= 1.1 * bound, t + " std " + std + ": " + err);
            }
            // all positive: types with mins use them, symmetric types use half their levels
            float[] shifted = new float[x.length];
            for (int i = 0; i < x.length; i++) shifted[i] = x[i] + 3f;
            double errShifted = relativeRms(shifted, t.dequantize(t.quantize(shifted)));
            assertTrue(errShifted <= bound, t + " shifted: " + errShifted);
            float[] constant = new float[512];
            Arrays.fill(constant, -0.75f);
            double errConstant = relativeRms(constant, t.dequantize(t.quantize(constant)));
            assertTrue(errConstant <= 0.02, t + " constant: " + errConstant);
        }
    }

    @Test
    void badInputsAreRefused() {
        for (GgufType t : List.of(GgufType.Q8_0, GgufType.Q4_K)) {
            float[] x = new float[256];
            x[5] = Float.NaN;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.quantize(x));
            assertTrue(e.getMessage().contains("element 5"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.quantize(new float[100]));
            assertThrows(IllegalArgumentException.class, () -> t.dequantize(new byte[t.bytesPerBlock + 1]));
        }
        float[] huge = new float[32];
        huge[0] = 1e9f;
        assertThrows(IllegalArgumentException.class, () -> GgufType.Q8_0.quantize(huge));
        // the float types keep non-finite values as such
        float[] special = {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 65504f};
        float[] back = GgufType.F16.dequantize(GgufType.F16.quantize(special));
        assertArrayEquals(special, back);
        assertTrue(Float.isNaN(GgufType.F16.dequantize(GgufType.F16.quantize(new float[] {Float.NaN}))[0]));
        assertFalse(GgufType.Q4_1.hasCodec());
    }
}
