package ai.coalora.engine.quant;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Budgeted bit allocation: one option per matrix minimising the total quantization error subject to
 * numel-weighted average bits <= budget (a multiple-choice knapsack; method.md "Pareto-based configuration search").
 *
 * <p>Solver: each matrix's options are first pruned to their Pareto-efficient set (bits vs error; a dominated
 * option is never needed). Costs are exact integers (bits in units of 1/16384 per weight, times numel), measured
 * above each matrix's cheapest option and divided by their greatest common divisor (so a grid of one such quantum
 * is exact). A dynamic program over a discretised cost grid is solved twice:
 * <ul>
 *   <li>costs rounded UP to the grid: every solution it admits is truly within budget, so its optimum is the
 *       returned allocation;
 *   <li>costs rounded DOWN: every truly feasible solution stays admissible, so its optimum is a lower bound on
 *       the true optimum.
 * </ul>
 * The rounded-up answer is then improved greedily with the budget its rounding left unused (still exactly
 * feasible). The grid starts at 1/512 bit per weight of the smallest matrix and is refined (x4) while the gap
 * exceeds {@link #TARGET_GAP} and the choice table stays under {@link #MAX_CHOICE_ENTRIES} entries.
 */
public final class BudgetAllocator {
    public static final double TARGET_GAP = 1e-3;
    /** Bound on the DP's back-pointer table (shorts): 2^25 entries = 64 MiB. */
    static final long MAX_CHOICE_ENTRIES = 1L << 25;

    private static final long INITIAL_CELLS_PER_BIT = 512;

    private BudgetAllocator() {}

    /**
     * @param lowerBound optimum of the rounded-down relaxation: no allocation within budget has lower error
     */
    public record Allocation(ModelQuantConfig config, double averageBits, double error, double lowerBound) {
        /** (error - lowerBound) / error: how far from optimal the allocation can be, relatively. */
        public double optimalityGap() {
            return error > 0 ? (error - lowerBound) / error : 0.0;
        }
    }

    /** The best allocation for a budget in average bits per weight. All tables must use the same quantizer. */
    public static Allocation allocate(List<QuantErrorTable> tables, double budgetBits) {
        return allocateEach(tables, List.of(budgetBits)).get(0);
    }

    /**
     * The best allocation for each budget, in the given order: the same answers as one {@link #allocate(List, double)}
     * per budget, for a fraction of the work. Budgets that share a grid share one dynamic program, solved at the
     * largest of their capacities: its cells up to a smaller capacity are exactly that budget's own program.
     */
    public static List<Allocation> allocateEach(List<QuantErrorTable> tables, List<Double> budgetsBits) {
        Problem p = new Problem(tables);
        int n = budgetsBits.size();
        long[] budget = new long[n], unit = new long[n];
        for (int b = 0; b < n; b++) {
            budget[b] = p.budgetCost(budgetsBits.get(b));
            unit[b] = Math.max(1, p.smallestNumel * QuantConfig.BIT_UNITS_PER_BIT / INITIAL_CELLS_PER_BIT / p.quantum);
            unit[b] = Math.max(unit[b], p.minimumUnitForMemory(budget[b]));
        }
        Allocation[] best = new Allocation[n];
        Set<Integer> open = new TreeSet<>();
        for (int b = 0; b < n; b++) open.add(b);
        while (!open.isEmpty()) { // each round refines the grid of the budgets whose gap is still too wide
            Map<Long, List<Integer>> byUnit = new TreeMap<>();
            for (int b : open)
                byUnit.computeIfAbsent(unit[b], u -> new ArrayList<>()).add(b);
            for (Map.Entry<Long, List<Integer>> group : byUnit.entrySet()) {
                long u = group.getKey();
                int capacity = 0;
                for (int b : group.getValue()) capacity = Math.max(capacity, p.capacity(budget[b], u));
                Problem.Programs programs = p.programs(u, capacity);
                for (int b : group.getValue()) {
                    best[b] = programs.solve(budget[b]);
                    long finer = Math.max(1, u / 4);
                    boolean refine =
                            best[b].optimalityGap() > TARGET_GAP && u > 1 && finer >= p.minimumUnitForMemory(budget[b]);
                    if (refine) unit[b] = finer;
                    else open.remove(b);
                }
            }
        }
        return List.of(best);
    }

    /** As {@link #allocate(List, double)} on a fixed grid of {@code unit} cost quanta per cell (no refinement). */
    static Allocation allocate(List<QuantErrorTable> tables, double budgetBits, long unit) {
        Problem p = new Problem(tables);
        long budget = p.budgetCost(budgetBits);
        if (unit < p.minimumUnitForMemory(budget))
            throw new IllegalArgumentException("grid too fine for the memory bound");
        return p.programs(unit, p.capacity(budget, unit)).solve(budget);
    }

    /** {min, max} achievable average bits of these tables. */
    public static double[] reachableRange(List<QuantErrorTable> tables) {
        Problem p = new Problem(tables);
        return new double[] {p.minBits(), p.maxBits()};
    }

    /** n evenly spaced values from lo to hi inclusive (e.g. the 50 training budgets over 2.25..7.25). */
    public static List<Double> grid(double lo, double hi, int n) {
        if (!(Double.isFinite(lo) && Double.isFinite(hi)) || lo > hi || n < 1 || (n == 1 && lo != hi)) {
            throw new IllegalArgumentException(
                    "grid needs finite lo <= hi and n >= 1 (n = 1 only if lo == hi), got " + lo + ", " + hi + ", " + n);
        }
        List<Double> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(i == n - 1 ? hi : lo + (hi - lo) * i / (n - 1));
        return out;
    }

    /** The pruned instance: per matrix, Pareto options with cost above the cheapest one. */
    private static final class Problem {
        final List<QuantErrorTable> tables;
        final QuantizerKind quantizer;
        final long[] numel;
        final int[][] optionIndex; // into the table's options
        final long[][] extraCost; // cost above the matrix's cheapest option, in quanta
        final long quantum; // gcd of all extra costs, bit units
        final double[][] error;
        final long baseCost; // sum of cheapest options, bit units
        final long maxCost;
        final long smallestNumel;
        final double denominator; // total numel * BIT_UNITS_PER_BIT: bit units -> average bits

        Problem(List<QuantErrorTable> tables) {
            if (tables == null || tables.isEmpty()) throw new IllegalArgumentException("no matrices to allocate");
            this.tables = List.copyOf(tables);
            quantizer = tables.get(0).quantizer();
            int m = tables.size();
            numel = new long[m];
            optionIndex = new int[m][];
            extraCost = new long[m][];
            error = new double[m][];
            long base = 0, max = 0, smallest = Long.MAX_VALUE, total = 0;
            for (int i = 0; i < m; i++) {
                QuantErrorTable t = tables.get(i);
                if (t.quantizer() != quantizer) throw new IllegalArgumentException("tables mix quantizers");
                numel[i] = t.matrix().numel();
                total += numel[i];
                smallest = Math.min(smallest, numel[i]);
                int[] pareto = paretoOptions(t);
                long cheapest = units(t, pareto[0]);
                optionIndex[i] = pareto;
                extraCost[i] = new long[pareto.length];
                error[i] = new double[pareto.length];
                for (int k = 0; k < pareto.length; k++) {
                    extraCost[i][k] = numel[i] * (units(t, pareto[k]) - cheapest);
                    error[i][k] = t.error(pareto[k]);
                }
                base += numel[i] * cheapest;
                max += numel[i] * units(t, pareto[pareto.length - 1]);
            }
            long gcd = 0;
            for (long[] costs : extraCost) for (long c : costs) gcd = gcd(gcd, c);
            quantum = Math.max(1, gcd);
            for (long[] costs : extraCost) for (int k = 0; k < costs.length; k++) costs[k] /= quantum;
            baseCost = base;
            maxCost = max;
            smallestNumel = smallest;
            denominator = (double) total * QuantConfig.BIT_UNITS_PER_BIT;
        }

        double minBits() {
            return baseCost / denominator;
        }

        /** Highest average bits that can help: the cheapest way to use every matrix's most accurate option. */
        double maxBits() {
            return maxCost / denominator;
        }

        /** The largest total cost (bit units) whose average bits is <= the budget; validates the budget. */
        long budgetCost(double budgetBits) {
            String range = "reachable average bits are [" + minBits() + ", " + maxBits() + "]";
            if (!Double.isFinite(budgetBits))
                throw new IllegalArgumentException("budget must be finite, got " + budgetBits + "; " + range);
            if (budgetBits < minBits() || budgetBits > maxBits()) {
                throw new IllegalArgumentException("budget " + budgetBits + " bits is out of range: " + range);
            }
            long cost = (long) Math.floor(budgetBits * denominator);
            while (cost / denominator > budgetBits) cost--;
            while ((cost + 1) / denominator <= budgetBits) cost++;
            return Math.max(Math.min(cost, maxCost), baseCost);
        }

        /** Budget above the cheapest options, in quanta (exact: all extra costs are whole quanta). */
        long slack(long budgetCost) {
            return (budgetCost - baseCost) / quantum;
        }

        long minimumUnitForMemory(long budgetCost) {
            long cellsAllowed = MAX_CHOICE_ENTRIES / tables.size() - 1;
            return Math.max(1, (slack(budgetCost) + cellsAllowed - 1) / cellsAllowed);
        }

        int capacity(long budgetCost, long unit) {
            return (int) (slack(budgetCost) / unit);
        }

        /** The two dynamic programs on one grid, up to {@code capacity} cells: costs rounded up and rounded down. */
        Programs programs(long unit, int capacity) {
            return new Programs(unit, dynamicProgram(unit, capacity, true), dynamicProgram(unit, capacity, false));
        }

        final class Programs {
            private final long unit;
            private final Choices up, down;

            Programs(long unit, Choices up, Choices down) {
                this.unit = unit;
                this.up = up;
                this.down = down;
            }

            /** The allocation for a budget whose capacity on this grid is at most the programs' capacity. */
            Allocation solve(long budgetCost) {
                int capacity = capacity(budgetCost, unit);
                int[] chosen = up.chosen(capacity);
                spendLeftover(chosen, slack(budgetCost));
                double lowerBound = totalError(down.chosen(capacity));
                List<ModelQuantConfig.Entry> entries = new ArrayList<>();
                for (int i = 0; i < tables.size(); i++) {
                    QuantErrorTable t = tables.get(i);
                    entries.add(
                            new ModelQuantConfig.Entry(t.matrix(), t.options().get(optionIndex[i][chosen[i]])));
                }
                double err = totalError(chosen);
                ModelQuantConfig config = new ModelQuantConfig(quantizer, entries);
                return new Allocation(config, config.averageBits(), err, Math.min(lowerBound, err));
            }
        }

        /** A solved dynamic program: back-pointers and grid costs, enough to read the choice at any capacity. */
        private record Choices(short[][] choice, int[][] gridCost) {
            int[] chosen(int capacity) {
                int[] chosen = new int[choice.length];
                int c = capacity;
                for (int i = choice.length - 1; i >= 0; i--) {
                    chosen[i] = choice[i][c];
                    c -= gridCost[i][chosen[i]];
                }
                return chosen;
            }
        }

        /**
         * Rounding costs up wastes up to one grid cell per matrix; spend what is truly left on the upgrades with the
         * largest error reduction, one at a time, while any fits.
         */
        private void spendLeftover(int[] chosen, long slack) {
            long left = slack;
            for (int i = 0; i < chosen.length; i++) left -= extraCost[i][chosen[i]];
            while (true) {
                int bestMatrix = -1, bestOption = -1;
                double bestGain = 0;
                for (int i = 0; i < chosen.length; i++) {
                    long current = extraCost[i][chosen[i]];
                    for (int k = chosen[i] + 1; k < extraCost[i].length; k++) { // Pareto order: dearer, more accurate
                        if (extraCost[i][k] - current > left) break;
                        double gain = error[i][chosen[i]] - error[i][k];
                        if (gain > bestGain) {
                            bestGain = gain;
                            bestMatrix = i;
                            bestOption = k;
                        }
                    }
                }
                if (bestMatrix < 0) return;
                left -= extraCost[bestMatrix][bestOption] - extraCost[bestMatrix][chosen[bestMatrix]];
                chosen[bestMatrix] = bestOption;
            }
        }

        private static long gcd(long a, long b) {
            while (b != 0) {
                long t = a % b;
                a = b;
                b = t;
            }
            return a;
        }

        private double totalError(int[] chosen) {
            double sum = 0;
            for (int i = 0; i < chosen.length; i++) sum += error[i][chosen[i]];
            return sum;
        }

        /**
         * best[c] = least error of matrices 0..i with grid cost at most c; back-pointers give the choice at every
         * capacity up to {@code capacity} (a cell never depends on larger ones).
         */
        private Choices dynamicProgram(long unit, int capacity, boolean roundUp) {
            int m = tables.size();
            double[] best = new double[capacity + 1]; // no matrices: zero error at any capacity
            double[] next = new double[capacity + 1];
            short[][] choice = new short[m][capacity + 1];
            int[][] gridCost = new int[m][];
            for (int i = 0; i < m; i++) {
                gridCost[i] = new int[extraCost[i].length];
                for (int k = 0; k < gridCost[i].length; k++) {
                    long c = roundUp ? (extraCost[i][k] + unit - 1) / unit : extraCost[i][k] / unit; // costs are >= 0
                    gridCost[i][k] = (int) Math.min(c, capacity + 1L); // beyond capacity: never fits
                }
                Arrays.fill(next, Double.POSITIVE_INFINITY);
                short[] back = choice[i];
                double[] errs = error[i];
                for (int k = 0; k < errs.length; k++) {
                    int cost = gridCost[i][k];
                    double e = errs[k];
                    for (int c = cost; c <= capacity; c++) {
                        double v = best[c - cost] + e;
                        if (v < next[c]) {
                            next[c] = v;
                            back[c] = (short) k;
                        }
                    }
                }
                double[] swap = best;
                best = next;
                next = swap;
            }
            return new Choices(choice, gridCost);
        }

        private static long units(QuantErrorTable t, int option) {
            return t.options().get(option).bitUnitsPerWeight();
        }

        /** Options sorted by bits, keeping only those strictly more accurate than every cheaper one. */
        private static int[] paretoOptions(QuantErrorTable t) {
            Integer[] order = new Integer[t.size()];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(
                    order, Comparator.<Integer>comparingLong(i -> units(t, i)).thenComparingDouble(t::error));
            List<Integer> keep = new ArrayList<>();
            double bestError = Double.POSITIVE_INFINITY;
            for (int i : order) {
                if (t.error(i) < bestError) {
                    keep.add(i);
                    bestError = t.error(i);
                }
            }
            if (keep.size() > Short.MAX_VALUE) throw new IllegalStateException("too many Pareto options");
            return keep.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
