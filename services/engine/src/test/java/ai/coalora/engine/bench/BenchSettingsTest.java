package ai.coalora.engine.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import org.junit.jupiter.api.Test;

class BenchSettingsTest {

    @Test
    void lowBitRegimeServesEveryDeviceFromTheStaircaseAndKeepsTheUnseenUnseen() {
        BenchSettings base = BenchSettings.full();
        BenchSettings low = BenchSettings.lowBit(base);
        double lowestSeen = Collections.min(low.seenBudgets());
        for (double b : low.fleetBudgets()) {
            // per-configuration LoRA serves a device the largest seen budget that fits: there must be one
            assertTrue(b >= lowestSeen - 1e-9, "device at " + b + " bits has no per-configuration adapter below it");
            assertTrue(b <= low.fleetLowMax() + 1e-9, "every low-bit device counts in F_low");
        }
        for (double u : low.unseenBudgets())
            assertFalse(low.seenBudgets().contains(u), "unseen budget " + u + " is also seen");
        for (double u : low.unseenOptimalBudgets())
            assertFalse(low.seenBudgets().contains(u), "unseen budget " + u + " is also seen");
        assertTrue(low.trainingSet().high() < 5, "the initial grid is concentrated in low bits");
        assertEquals(base.training(), low.training());
        assertEquals(base.methods(), low.methods());
        assertEquals(base.trainLimit(), low.trainLimit());
    }
}
