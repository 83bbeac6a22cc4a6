package ai.coalora.fleet.planning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class QualityMeasureTest {

    @Test
    void accuracyIsBetterHigherAndFallsShortInPoints() {
        QualityMeasure m = QualityMeasure.ACCURACY;
        assertEquals(
                List.of(0.9, 0.8, 0.7),
                Stream.of(0.8, 0.7, 0.9).sorted(m.bestFirst()).toList());
        assertTrue(m.better(0.9, 0.8));
        assertEquals(0.1, m.shortfall(0.7, 0.8), 1e-12);
        assertTrue(m.fallsShort(0.7, 0.8, 0.05), "ten points below, margin five");
        assertFalse(m.fallsShort(0.77, 0.8, 0.05), "three points below, margin five");
        assertFalse(m.fallsShort(0.95, 0.8, 0.0), "better than predicted");
    }

    @Test
    void perplexityIsBetterLowerAndFallsShortAsARatio() {
        QualityMeasure m = QualityMeasure.PERPLEXITY;
        assertEquals(
                List.of(70.0, 80.0, 90.0),
                Stream.of(80.0, 90.0, 70.0).sorted(m.bestFirst()).toList());
        assertTrue(m.better(70, 80));
        assertEquals(0.25, m.shortfall(100, 80), 1e-12);
        assertTrue(m.fallsShort(100, 80, 0.1), "25% above the prediction, margin 10%");
        assertFalse(m.fallsShort(84, 80, 0.1), "5% above, margin 10%");
        assertFalse(m.fallsShort(60, 80, 0.0), "better than predicted");
        assertThrows(IllegalArgumentException.class, () -> m.shortfall(80, 0));
        assertThrows(IllegalArgumentException.class, () -> m.shortfall(Double.NaN, 80));
    }

    @Test
    void namesRoundTripAndAnUnknownNameIsAnError() {
        for (QualityMeasure m : QualityMeasure.values()) assertEquals(m, QualityMeasure.fromJson(m.jsonName()));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> QualityMeasure.fromJson("bleu"));
        assertTrue(e.getMessage().contains("accuracy") && e.getMessage().contains("perplexity"), e.getMessage());
    }
}
