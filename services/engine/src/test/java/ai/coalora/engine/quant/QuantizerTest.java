package ai.coalora.engine.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class QuantizerTest {
    static float[] randomNormal(int n, long seed, double std) {
        Random r = new Random(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (r.nextGaussian() * std);
        return w;
    }

    static double mse(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (a[i] - b[i]) * (double) (a[i] - b[i]);
        return s / a.length;
    }

    @Test
    void nfPayloadIsExactlyNumelTimesBitsPerWeightForEveryOption() {
        int rows = 128, cols = 128; // 16384 = the largest B0*B1, so every option divides evenly
        float[] w = randomNormal(rows * cols, 1, 0.02);
        for (QuantConfig c : QuantConfig.all()) {
            PackedMatrix p = Quantizer.quantize(w, rows, cols, c, QuantizerKind.NF);
            assertEquals((double) rows * cols * c.bitsPerWeight(), (double) p.payloadBits(), 0.0, c.toString());
            assertEquals(rows * cols * QuantizerKind.NF.storedBitsPerWeight(c), (double) p.payloadBits(), 0.0);
            assertEquals(
                    rows * cols * QuantizerKind.INT.storedBitsPerWeight(c),
                    (double) PackedMatrix.payloadBits(rows, cols, c, QuantizerKind.INT),
                    0.0);
        }
    }

    @Test
    void bertSizedMatrixPayloadAndRoundTrip() {
        int rows = 384, cols = 1536;
        float[] w = randomNormal(rows * cols, 2, 0.04);
        List<QuantConfig> all = QuantConfig.all();
        for (int i = 0; i < all.size(); i += 37) {
            QuantConfig c = all.get(i);
            for (QuantizerKind kind : QuantizerKind.values()) {
                PackedMatrix p = Quantizer.quantize(w, rows, cols, c, kind);
                if (kind == QuantizerKind.NF) {
                    assertEquals((double) rows * cols * c.bitsPerWeight(), (double) p.payloadBits(), 0.0);
                }
                byte[] bytes = p.toBytes();
                assertTrue(bytes.length * 8L >= p.payloadBits() && bytes.length * 8L < p.payloadBits() + 8 * 64);
                float[] fake = Quantizer.fakeQuantize(w, rows, cols, c, kind);
                assertBitEqual(fake, PackedMatrix.fromBytes(bytes).dequantize());
            }
        }
    }

    /** The error tables' fused pass is bit-identical to measuring the fake-quantized matrix, for every option. */
    @Test
    void weightedErrorWithoutMaterializingIsBitIdentical() {
        int[][] shapes = {{33, 65}, {5, 1031}, {64, 64}};
        for (int[] s : shapes) {
            int rows = s[0], cols = s[1];
            float[] w = randomNormal(rows * cols, rows * 7L + cols, 0.05);
            float[] importance = new float[cols];
            for (int j = 0; j < cols; j++) importance[j] = (j % 5) * 0.37f;
            for (QuantConfig c : QuantConfig.all()) {
                for (QuantizerKind kind : QuantizerKind.values()) {
                    float[] q = Quantizer.fakeQuantize(w, rows, cols, c, kind);
                    for (float[] imp : new float[][] {importance, null}) {
                        assertEquals(
                                Double.doubleToRawLongBits(QuantErrorTable.weightedError(w, q, cols, imp)),
                                Double.doubleToRawLongBits(Quantizer.weightedError(w, rows, cols, c, kind, imp)),
                                rows + "x" + cols + " " + c + " " + kind);
                    }
                }
            }
        }
    }

    @Test
    void oddShapesArePaddedAndRoundTrip() {
        int[][] shapes = {{7, 13}, {1, 1}, {33, 65}, {1, 17}, {5, 1031}};
        for (int[] s : shapes) {
            int rows = s[0], cols = s[1];
            long numel = (long) rows * cols;
            float[] w = randomNormal(rows * cols, rows * 31L + cols, 1.0);
            for (QuantConfig c : QuantConfig.all()) {
                for (QuantizerKind kind : QuantizerKind.values()) {
                    PackedMatrix p = Quantizer.quantize(w, rows, cols, c, kind);
                    long blocks = (numel + c.B0() - 1) / c.B0();
                    long groups = (blocks + c.B1() - 1) / c.B1();
                    long expected = numel * c.b()
                            + blocks * c.b0()
                            + groups * c.b1().bits()
                            + (kind == QuantizerKind.INT ? blocks * c.b() : 0);
                    assertEquals(expected, p.payloadBits());
                    float[] fake = Quantizer.fakeQuantize(w, rows, cols, c, kind);
                    assertEquals(numel, fake.length);
                    assertBitEqual(fake, PackedMatrix.fromBytes(p.toBytes()).dequantize());
                }
            }
        }
    }

    @Test
    void errorStrictlyDecreasesWithWeightBits() {
        int rows = 96, cols = 256;
        float[] w = randomNormal(rows * cols, 3, 0.05);
        for (QuantizerKind kind : QuantizerKind.values()) {
            for (QuantConfig base : List.of(
                    QuantConfig.integerOnly(2),
                    new QuantConfig(2, 4, ScaleType.BF16, 16, 64),
                    new QuantConfig(2, 2, ScaleType.FP32, 32, 16))) {
                double previous = Double.POSITIVE_INFINITY;
                for (int b : QuantConfig.WEIGHT_BITS) {
                    QuantConfig c = new QuantConfig(b, base.b0(), base.b1(), base.B0(), base.B1());
                    double e = mse(w, Quantizer.fakeQuantize(w, rows, cols, c, kind));
                    assertTrue(e < previous, kind + " " + c + ": " + e + " !< " + previous);
                    previous = e;
                }
                if (base.b0() == 8) { // with coarse scale codes, clipping of the block extremes dominates instead
                    assertTrue(previous < 1e-3 * 0.05 * 0.05, kind + " 8-bit error too large: " + previous);
                }
            }
        }
    }

    @Test
    void nfValuesAreCodebookLevelsTimesBlockScaleAndKeepTheBlockMax() {
        float[] w = randomNormal(64, 4, 1.0);
        QuantConfig c = new QuantConfig(4, 8, ScaleType.FP32, 64, 16);
        float[] q = Quantizer.fakeQuantize(w, 1, 64, c, QuantizerKind.NF);
        // a single block: offset = absmax, shifted scale 0, so the dequantized scale is the exact absmax
        float absmax = 0;
        for (float v : w) absmax = Math.max(absmax, Math.abs(v));
        float[] levels = NormalFloat.codebook(4);
        for (float v : q) {
            float level = v / absmax;
            assertTrue(Arrays.binarySearch(levels, level) >= 0 || nearlyIn(levels, level), "not a level: " + level);
        }
        float qmax = 0;
        for (float v : q) qmax = Math.max(qmax, Math.abs(v));
        assertEquals(absmax, qmax);
    }

    private static boolean nearlyIn(float[] levels, float x) {
        for (float l : levels) if (Math.abs(l - x) < 1e-6) return true;
        return false;
    }

    @Test
    void constantZeroAndConstantMatricesStayFinite() {
        for (QuantizerKind kind : QuantizerKind.values()) {
            for (QuantConfig c : List.of(QuantConfig.integerOnly(2), new QuantConfig(3, 2, ScaleType.BF16, 16, 16))) {
                float[] zero = new float[33 * 65];
                float[] q = PackedMatrix.fromBytes(
                                Quantizer.quantize(zero, 33, 65, c, kind).toBytes())
                        .dequantize();
                for (float v : q) assertEquals(0f, v);
                float[] constant = new float[40];
                Arrays.fill(constant, -0.75f);
                float[] qc = Quantizer.fakeQuantize(constant, 4, 10, c, kind);
                for (float v : qc) assertEquals(-0.75f, v, 1e-6);
            }
        }
    }

    @Test
    void intQuantizerKeepsZeroExactAndUsesTheUniformGrid() {
        float[] w = randomNormal(16 * 64, 5, 1.0);
        w[10] = 0f;
        QuantConfig c = new QuantConfig(3, 8, ScaleType.FP32, 16, 16);
        float[] q = Quantizer.fakeQuantize(w, 16, 64, c, QuantizerKind.INT);
        assertEquals(0f, q[10]);
        // within a block, values lie on at most 2^3 distinct grid points
        for (int blk = 0; blk < 64; blk++) {
            long distinct = IntStream.range(blk * 16, blk * 16 + 16)
                    .mapToDouble(i -> q[i])
                    .distinct()
                    .count();
            assertTrue(distinct <= 8);
        }
    }

    @Test
    void rejectsCorruptOrTruncatedBytes() {
        float[] w = randomNormal(7 * 13, 6, 1.0);
        byte[] good = Quantizer.quantize(w, 7, 13, new QuantConfig(3, 3, ScaleType.FP16, 16, 16), QuantizerKind.NF)
                .toBytes();
        PackedMatrix.fromBytes(good);
        for (int i = 0; i < good.length; i++) {
            for (int bit : new int[] {0, 5}) {
                byte[] bad = good.clone();
                bad[i] ^= (byte) (1 << bit);
                assertThrows(IllegalArgumentException.class, () -> PackedMatrix.fromBytes(bad), "byte " + i);
            }
        }
        for (int len = 0; len < good.length; len++) {
            byte[] cut = Arrays.copyOf(good, len);
            assertThrows(IllegalArgumentException.class, () -> PackedMatrix.fromBytes(cut), "length " + len);
        }
        assertThrows(
                IllegalArgumentException.class, () -> PackedMatrix.fromBytes(Arrays.copyOf(good, good.length + 1)));
        assertThrows(IllegalArgumentException.class, () -> PackedMatrix.fromBytes(null));
    }

    @Test
    void rejectsBadInput() {
        QuantConfig c = QuantConfig.integerOnly(4);
        assertThrows(
                IllegalArgumentException.class, () -> Quantizer.fakeQuantize(new float[6], 2, 4, c, QuantizerKind.NF));
        assertThrows(
                IllegalArgumentException.class, () -> Quantizer.fakeQuantize(new float[0], 0, 0, c, QuantizerKind.NF));
        float[] nan = {1f, Float.NaN};
        assertThrows(IllegalArgumentException.class, () -> Quantizer.fakeQuantize(nan, 1, 2, c, QuantizerKind.NF));
    }

    static void assertBitEqual(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                assertArrayEquals(expected, actual, "first difference at " + i);
            }
        }
    }
}
