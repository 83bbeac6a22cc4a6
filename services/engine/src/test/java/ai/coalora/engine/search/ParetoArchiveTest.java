package ai.coalora.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParetoArchiveTest {
    private final SyntheticObjective objective = SyntheticObjective.small(4);

    @Test
    void reEvaluationReplacesTheLoss() {
        ModelQuantConfig a = objective.uniform(QuantConfig.integerOnly(3));
        ModelQuantConfig b = objective.uniform(QuantConfig.integerOnly(4));
        ParetoArchive archive = new ParetoArchive(List.of(Evaluated.of(a, 2.0), Evaluated.of(b, 1.0)));
        assertEquals(List.of(Evaluated.of(a, 2.0), Evaluated.of(b, 1.0)), archive.front());
        archive.add(Evaluated.of(a, 0.5)); // the model improved: 3 bits now beats 4 bits
        assertEquals(2, archive.size());
        assertEquals(List.of(Evaluated.of(a, 0.5)), archive.front());
        Objectives ref = new Objectives(3, 5);
        assertEquals((3 - 0.5) * (5 - a.averageBits()), archive.hypervolume(ref), 1e-12);
    }

    @Test
    void evaluatedChecksItsBits() {
        ModelQuantConfig a = objective.uniform(QuantConfig.integerOnly(3));
        assertThrows(IllegalArgumentException.class, () -> new Evaluated(a, 1.0, 3.0));
        assertThrows(IllegalArgumentException.class, () -> Evaluated.of(a, Double.NaN));
    }
}
