package ai.coalora.engine.bench;

import ai.coalora.engine.coa.TrainingSetSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The configurations a paper comparison evaluates and starts from, the same for encoder and decoder:
 * seen = budget-optimal allocations at the seen budgets (they join the training set), unseen = integer-only
 * allocations (the layout runtimes use, a family no training set is built from), and the initial training set =
 * the optimal allocations on an evenly spaced grid of budgets plus the seen ones.
 */
public record BenchConfigurations(
        List<ModelQuantConfig> seen, List<ModelQuantConfig> unseen, List<ModelQuantConfig> initialSet) {

    public static BenchConfigurations of(
            BudgetPlanner planner, List<Double> seenBudgets, List<Double> unseenBudgets, int initialGrid) {
        return of(planner, seenBudgets, unseenBudgets, TrainingSetSpec.grid(initialGrid));
    }

    public static BenchConfigurations of(
            BudgetPlanner planner, List<Double> seenBudgets, List<Double> unseenBudgets, TrainingSetSpec trainingSet) {
        List<ModelQuantConfig> seen = planner.configurations(seenBudgets, false);
        List<ModelQuantConfig> unseen = planner.configurations(unseenBudgets, true);
        Set<ModelQuantConfig> initial = new LinkedHashSet<>(trainingSet.configurations(planner));
        initial.addAll(seen);
        return new BenchConfigurations(seen, unseen, List.copyOf(initial));
    }
}
