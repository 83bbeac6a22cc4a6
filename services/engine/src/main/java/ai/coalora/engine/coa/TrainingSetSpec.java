package ai.coalora.engine.coa;

import ai.coalora.engine.quant.BudgetAllocator;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which configurations CoA-LoRA starts training on: the budget-optimal allocation at {@code count} budgets evenly
 * spaced over [low, high], at each {@code anchors} budget (e.g. a few high-bit points when the grid is concentrated
 * on low bits), and the integer-only allocation (b0 = 8, fp16 scales, B0 = 64, B1 = 256: the layout runtimes use) at
 * each {@code integerBudgets} budget. Each configuration once, in that order.
 */
public record TrainingSetSpec(double low, double high, int count, List<Double> anchors, List<Double> integerBudgets) {

    /** The method's set: 50 budgets over 2.25..7.25 bits, nothing else. */
    public static TrainingSetSpec grid(int count) {
        return new TrainingSetSpec(BudgetPlanner.GRID_LOW, BudgetPlanner.GRID_HIGH, count, List.of(), List.of());
    }

    public TrainingSetSpec {
        if (!(low > 0)) throw new IllegalArgumentException("initial budgets must be positive, got " + low);
        BudgetAllocator.grid(low, high, count); // checks the range and count with its own message
        anchors = List.copyOf(anchors);
        integerBudgets = List.copyOf(integerBudgets);
    }

    public List<ModelQuantConfig> configurations(BudgetPlanner planner) {
        Set<ModelQuantConfig> out = new LinkedHashSet<>(planner.initialSet(low, high, count));
        out.addAll(planner.configurations(anchors, false));
        out.addAll(planner.configurations(integerBudgets, true));
        return List.copyOf(out);
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "%d budgets over %.2f-%.2f bits%s%s",
                count,
                low,
                high,
                anchors.isEmpty() ? "" : ", anchors " + anchors,
                integerBudgets.isEmpty() ? "" : ", integer-only at " + integerBudgets);
    }
}
