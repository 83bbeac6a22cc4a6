package ai.coalora.engine.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QuantErrorTableTest {
    @Test
    void errorIsImportanceWeightedSquaredError() {
        MatrixSpec spec = new MatrixSpec("m", 8, 24);
        float[] w = QuantizerTest.randomNormal(8 * 24, 1, 0.1);
        float[] imp = new float[24];
        for (int j = 0; j < 24; j++) imp[j] = j % 3;
        QuantConfig c = new QuantConfig(2, 4, ScaleType.FP16, 16, 16);
        QuantErrorTable t = QuantErrorTable.compute(spec, w, imp, QuantizerKind.NF, List.of(c));
        float[] q = Quantizer.fakeQuantize(w, 8, 24, c, QuantizerKind.NF);
        double expected = 0;
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 24; j++) expected += imp[j] * Math.pow(w[i * 24 + j] - q[i * 24 + j], 2);
        assertEquals(expected, t.errorOf(c), 1e-12 * expected);
        QuantErrorTable plain = QuantErrorTable.compute(spec, w, null, QuantizerKind.NF, List.of(c));
        assertEquals(QuantizerTest.mse(w, q) * w.length, plain.errorOf(c), 1e-9 * plain.errorOf(c));
    }

    @Test
    void rejectsBadInputs() {
        MatrixSpec spec = new MatrixSpec("m", 4, 4);
        assertThrows(
                IllegalArgumentException.class,
                () -> QuantErrorTable.compute(spec, new float[15], null, QuantizerKind.NF));
        assertThrows(
                IllegalArgumentException.class,
                () -> QuantErrorTable.compute(spec, new float[16], new float[3], QuantizerKind.NF));
        assertThrows(
                IllegalArgumentException.class,
                () -> QuantErrorTable.compute(spec, new float[16], new float[] {1, -1, 1, 1}, QuantizerKind.NF));
        assertThrows(
                IllegalArgumentException.class,
                () -> new QuantErrorTable(
                        spec, QuantizerKind.NF, List.of(QuantConfig.integerOnly(2)), new double[] {Double.NaN}));
    }

    /** Real tables end to end: allocation over 4 random matrices with importance, at several budgets. */
    @Test
    void allocatesRealTablesAndMoreBitsMeanLessError() {
        Random r = new Random(3);
        List<QuantErrorTable> tables = new ArrayList<>();
        int[][] shapes = {{64, 64}, {64, 64}, {256, 64}, {64, 256}};
        for (int i = 0; i < shapes.length; i++) {
            int rows = shapes[i][0], cols = shapes[i][1];
            float[] imp = new float[cols];
            for (int j = 0; j < cols; j++) imp[j] = (float) Math.exp(r.nextGaussian());
            tables.add(QuantErrorTable.compute(
                    new MatrixSpec("m" + i, rows, cols),
                    QuantizerTest.randomNormal(rows * cols, 10 + i, 0.02 * (i + 1)),
                    imp,
                    QuantizerKind.NF));
        }
        double previous = Double.POSITIVE_INFINITY;
        for (double budget : BudgetAllocator.grid(2.25, 7.25, 6)) {
            BudgetAllocator.Allocation a = BudgetAllocator.allocate(tables, budget);
            assertTrue(a.averageBits() <= budget);
            assertTrue(a.error() < previous);
            assertTrue(a.optimalityGap() < 0.005, "gap " + a.optimalityGap());
            previous = a.error();
            assertEquals(a.config(), ModelQuantConfig.fromJson(a.config().toJson()));
        }
    }

    /** Timing of the full 432-option table on a BERT FFN-sized matrix (printed for the integrator). */
    @Test
    void fullTableOnA384x1536Matrix() {
        MatrixSpec spec = new MatrixSpec("ffn", 384, 1536);
        float[] w = QuantizerTest.randomNormal(384 * 1536, 4, 0.04);
        float[] imp = new float[1536];
        Arrays.fill(imp, 1f);
        QuantErrorTable.compute(
                spec, w, imp, QuantizerKind.NF, QuantConfig.all().subList(0, 40)); // warm-up
        long start = System.nanoTime();
        QuantErrorTable t = QuantErrorTable.compute(spec, w, imp, QuantizerKind.NF);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(
                "QuantErrorTable 384x1536, 432 options, NF: %.2f s on %d cores%n",
                seconds, Runtime.getRuntime().availableProcessors());
        assertEquals(432, t.size());
        // with everything else fixed, more weight bits always help
        for (QuantConfig c : QuantConfig.all()) {
            if (c.b() == 8) continue;
            int next = QuantConfig.WEIGHT_BITS.get(QuantConfig.WEIGHT_BITS.indexOf(c.b()) + 1);
            QuantConfig more = new QuantConfig(next, c.b0(), c.b1(), c.B0(), c.B1());
            assertTrue(t.errorOf(more) < t.errorOf(c), c + " vs " + more);
        }
    }
}
