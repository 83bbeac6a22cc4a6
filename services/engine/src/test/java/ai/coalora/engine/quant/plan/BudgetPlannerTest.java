package ai.coalora.engine.quant.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.quant.BudgetAllocator.Allocation;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.train.Progress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Budgeted allocation on the real MiniLM weights (same calibration as the command line, so tables are shared). */
class BudgetPlannerTest {

    @Test
    void initialGridCoversTheBudgetRangeWithFallingError() throws Exception {
        try (PretrainedModel model = PretrainedModel.miniLm(64)) {
            List<String> texts = Tasks.builtin("sentiment").train().stream()
                    .limit(256)
                    .map(Example::text)
                    .toList();
            BudgetPlanner planner =
                    BudgetPlanner.calibrate(model.encoder(), model.tokenizer(), texts, QuantizerKind.NF, Progress.NONE);
            List<Allocation> grid = planner.initialGrid(50, false);
            assertEquals(50, grid.size());
            double previousError = Double.POSITIVE_INFINITY;
            for (int i = 0; i < grid.size(); i++) {
                double budget = 2.25 + i * (7.25 - 2.25) / 49;
                Allocation a = grid.get(i);
                assertTrue(a.averageBits() <= budget + 1e-12, "over budget at " + budget);
                assertTrue(a.averageBits() > budget - 0.05, "budget " + budget + " left unused: " + a.averageBits());
                assertTrue(a.error() <= previousError * (1 + 1e-3), "error rose at budget " + budget);
                assertTrue(a.optimalityGap() < 0.01, "gap " + a.optimalityGap());
                assertEquals(a.averageBits(), a.config().averageBits(), 1e-12);
                previousError = a.error();
            }
            double[] range = planner.reachableRange(true);
            assertTrue(range[0] > 2.1 && range[1] < 8.2, "integer-only range " + range[0] + ".." + range[1]);
            Allocation integer = planner.allocate(4.0, true);
            integer.config().matrices().forEach(e -> assertEquals(64, e.config().B0()));
            assertThrows(IllegalArgumentException.class, () -> planner.allocate(2.0, false));

            // a device without 2-bit kernels: only 3-, 4- and 8-bit weights, and a worse error than with all options
            Allocation noTwoBit = planner.allocate(3.6, Set.of(3, 4, 8));
            noTwoBit.config().matrices().forEach(e -> assertTrue(e.config().b() >= 3, "2-bit weights in " + e));
            assertTrue(noTwoBit.averageBits() <= 3.6 + 1e-12);
            assertTrue(
                    noTwoBit.error() >= planner.allocate(3.6, false).error() * (1 - 1e-3),
                    "restricting options cannot help");
            assertThrows(
                    IllegalArgumentException.class,
                    () -> planner.allocate(3.0, Set.of(4, 8)),
                    "below 4 bits without 2- and 3-bit kernels");
        }
    }
}
