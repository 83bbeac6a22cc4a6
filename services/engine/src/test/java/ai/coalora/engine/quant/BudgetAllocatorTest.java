package ai.coalora.engine.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BudgetAllocatorTest {
    /** A random instance: few options per matrix, errors roughly falling with bits plus noise. */
    static List<QuantErrorTable> randomInstance(Random r, int matrices, int optionsPerMatrix) {
        List<QuantErrorTable> tables = new ArrayList<>();
        for (int i = 0; i < matrices; i++) {
            MatrixSpec spec = new MatrixSpec("m" + i, 1 + r.nextInt(48), 1 + r.nextInt(300));
            List<QuantConfig> all = new ArrayList<>(QuantConfig.all());
            Collections.shuffle(all, r);
            List<QuantConfig> options = all.subList(0, optionsPerMatrix);
            double[] errors = new double[optionsPerMatrix];
            for (int k = 0; k < optionsPerMatrix; k++) {
                errors[k] = spec.numel() * Math.pow(2, -2 * options.get(k).bitsPerWeight()) * (0.5 + r.nextDouble());
            }
            tables.add(new QuantErrorTable(spec, QuantizerKind.NF, options, errors));
        }
        return tables;
    }

    /** Exhaustive optimum (error) within the budget, using exact bit counts. */
    static double bruteForce(List<QuantErrorTable> tables, double budget) {
        return bruteForce(tables, budget, 0, 0, 0, 0);
    }

    private static double bruteForce(List<QuantErrorTable> t, double budget, int i, long bits, long numel, double err) {
        if (i == t.size()) {
            return bits / ((double) numel * QuantConfig.BIT_UNITS_PER_BIT) <= budget ? err : Double.POSITIVE_INFINITY;
        }
        double best = Double.POSITIVE_INFINITY;
        QuantErrorTable table = t.get(i);
        long n = table.matrix().numel();
        for (int k = 0; k < table.size(); k++) {
            best = Math.min(
                    best,
                    bruteForce(
                            t,
                            budget,
                            i + 1,
                            bits + n * table.options().get(k).bitUnitsPerWeight(),
                            numel + n,
                            err + table.error(k)));
        }
        return best;
    }

    /** Many budgets at once share their programs and give exactly what one allocation per budget gives. */
    @Test
    void allocatingManyBudgetsAtOnceGivesEachBudgetsOwnAnswer() {
        Random r = new Random(17);
        for (int trial = 0; trial < 3; trial++) {
            List<QuantErrorTable> tables = randomInstance(r, 4 + r.nextInt(6), 10 + r.nextInt(20));
            double[] range = BudgetAllocator.reachableRange(tables);
            List<Double> budgets = new ArrayList<>();
            for (int b = 0; b < 5; b++) budgets.add(range[0] + (range[1] - range[0]) * r.nextDouble());
            budgets.add(range[0]);
            budgets.add(range[1]);
            budgets.add(budgets.get(3)); // the same budget twice
            List<BudgetAllocator.Allocation> each = BudgetAllocator.allocateEach(tables, budgets);
            assertEquals(budgets.size(), each.size());
            for (int b = 0; b < budgets.size(); b++)
                assertEquals(BudgetAllocator.allocate(tables, budgets.get(b)), each.get(b), "budget " + budgets.get(b));
        }
    }

    @Test
    void matchesBruteForceWithinTheReportedGap() {
        Random r = new Random(11);
        for (int trial = 0; trial < 200; trial++) {
            List<QuantErrorTable> tables = randomInstance(r, 3 + r.nextInt(2), 3 + r.nextInt(5));
            double[] range = BudgetAllocator.reachableRange(tables);
            double budget = range[0] + r.nextDouble() * (range[1] - range[0]);
            double optimum = bruteForce(tables, budget);
            List<BudgetAllocator.Allocation> results = List.of(
                    BudgetAllocator.allocate(tables, budget),
                    BudgetAllocator.allocate(tables, budget, 4096), // coarse grids: a real gap
                    BudgetAllocator.allocate(tables, budget, 65536));
            for (BudgetAllocator.Allocation a : results) {
                String ctx = "trial " + trial + " budget " + budget + " " + a;
                assertTrue(a.averageBits() <= budget, ctx);
                assertEquals(a.averageBits(), a.config().averageBits(), 0.0);
                assertTrue(a.error() >= optimum * (1 - 1e-12), ctx + " beats brute force " + optimum);
                assertTrue(a.lowerBound() <= optimum * (1 + 1e-12), ctx + " bound above optimum " + optimum);
                assertTrue(a.error() - optimum <= a.optimalityGap() * a.error() + 1e-9 * a.error(), ctx);
                double sum = 0;
                for (int i = 0; i < tables.size(); i++) {
                    sum += tables.get(i).errorOf(a.config().matrices().get(i).config());
                }
                assertEquals(sum, a.error(), 1e-9 * sum);
            }
        }
    }

    @Test
    void extremesOfTheRangeAreReachable() {
        List<QuantErrorTable> tables = randomInstance(new Random(5), 4, 6);
        double[] range = BudgetAllocator.reachableRange(tables);
        BudgetAllocator.Allocation low = BudgetAllocator.allocate(tables, range[0]);
        assertEquals(range[0], low.averageBits(), 0.0);
        BudgetAllocator.Allocation high = BudgetAllocator.allocate(tables, range[1]);
        assertTrue(high.averageBits() <= range[1]);
        assertEquals(bruteForce(tables, range[1]), high.error(), 1e-12 * high.error());
    }

    @Test
    void budgetOutOfRangeIsAnError() {
        List<QuantErrorTable> tables = randomInstance(new Random(6), 3, 4);
        double[] range = BudgetAllocator.reachableRange(tables);
        for (double bad : new double[] {range[0] - 1e-6, range[1] + 1e-6, 1.0, 9.0}) {
            var e = assertThrows(IllegalArgumentException.class, () -> BudgetAllocator.allocate(tables, bad));
            assertTrue(e.getMessage().contains("reachable average bits are [" + range[0]), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> BudgetAllocator.allocate(tables, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> BudgetAllocator.allocate(tables, Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> BudgetAllocator.allocate(List.of(), 4.0));
    }

    @Test
    void gridSpansTheTrainingBudgets() {
        List<Double> g = BudgetAllocator.grid(2.25, 7.25, 50);
        assertEquals(50, g.size());
        assertEquals(2.25, g.get(0), 0.0);
        assertEquals(7.25, g.get(49), 0.0);
        assertEquals(5.0 / 49, g.get(1) - g.get(0), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> BudgetAllocator.grid(3, 2, 5));
    }

    /** A MiniLM-sized model (36 matrices, 150k-600k weights) with all 432 options and realistic error shapes. */
    @Test
    void gapIsTinyOnAModelSizedProblem() {
        Random r = new Random(7);
        List<QuantErrorTable> tables = new ArrayList<>();
        for (int layer = 0; layer < 6; layer++) {
            int[][] shapes = {{384, 384}, {384, 384}, {384, 384}, {384, 384}, {1536, 384}, {384, 1536}};
            for (int j = 0; j < shapes.length; j++) {
                MatrixSpec spec = new MatrixSpec("l" + layer + ".m" + j, shapes[j][0], shapes[j][1]);
                double sensitivity = Math.exp(r.nextGaussian());
                double[] errors = new double[432];
                for (int k = 0; k < 432; k++) {
                    QuantConfig c = QuantConfig.all().get(k);
                    double scaleNoise =
                            Math.pow(2, -2 * c.b0()) * 16.0 / c.B0() + (c.b1() == ScaleType.BF16 ? 1e-3 : 0);
                    errors[k] = sensitivity
                            * spec.numel()
                            * (Math.pow(2, -2 * c.b()) + scaleNoise * Math.pow(2, -c.b()))
                            * (1 + 0.05 * r.nextDouble());
                }
                tables.add(new QuantErrorTable(spec, QuantizerKind.NF, QuantConfig.all(), errors));
            }
        }
        long start = System.nanoTime();
        double worst = 0;
        for (double budget : BudgetAllocator.grid(2.25, 7.25, 11)) {
            BudgetAllocator.Allocation a = BudgetAllocator.allocate(tables, budget);
            assertTrue(a.averageBits() <= budget);
            assertTrue(a.averageBits() > budget - 0.05, "budget left unused: " + a.averageBits() + " of " + budget);
            worst = Math.max(worst, a.optimalityGap());
        }
        System.out.printf(
                "36-matrix allocation: 11 budgets in %.2f s, worst gap %.2e%n",
                (System.nanoTime() - start) / 1e9, worst);
        assertTrue(worst < 0.005, "gap " + worst);
    }
}
