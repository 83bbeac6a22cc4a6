package ai.coalora.engine.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.coa.CoaTrainer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PhaseTimerTest {

    @Test
    void phasesAddUpToTheWallTimeAndTheSearchIsSplitOffTraining() throws Exception {
        long start = System.nanoTime();
        PhaseTimer timer = new PhaseTimer();
        Thread.sleep(30);
        timer.mark(PhaseTimer.LOADING);
        Thread.sleep(60);
        // the trainer reports 0.02 s of measuring in each of its two epochs
        timer.markTraining(new CoaTrainer.Result(
                List.of(
                        new CoaTrainer.EpochReport(1, 0.5, 4, 0.02, 0.02, Map.of()),
                        new CoaTrainer.EpochReport(2, 0.4, 4, 0.01, 0.02, Map.of())),
                List.of(),
                Set.of(),
                0.06,
                0,
                0,
                0,
                0));
        Thread.sleep(10);
        timer.mark(PhaseTimer.LOADING); // a phase marked twice adds up
        double wall = (System.nanoTime() - start) / 1e9;

        Map<String, Double> s = timer.seconds();
        assertEquals(List.of(PhaseTimer.LOADING, PhaseTimer.TRAINING, PhaseTimer.SEARCH), List.copyOf(s.keySet()));
        assertEquals(0.04, s.get(PhaseTimer.SEARCH), 1e-9);
        assertTrue(s.get(PhaseTimer.TRAINING) >= 0.02 - 1e-3, "training " + s.get(PhaseTimer.TRAINING));
        assertTrue(s.get(PhaseTimer.LOADING) >= 0.04 - 1e-3, "loading " + s.get(PhaseTimer.LOADING));
        assertTrue(timer.total() <= wall && timer.total() > wall - 0.05, timer.total() + " of " + wall);
    }

    @Test
    void formatsShortPhasesWithATenthAndLongOnesInWholeSeconds() {
        Map<String, Double> s = new LinkedHashMap<>();
        s.put(PhaseTimer.TRAINING, 251.4);
        s.put(PhaseTimer.FRONT, 3.26);
        assertEquals("training 251 s, front 3.3 s", PhaseTimer.format(s));
    }
}
