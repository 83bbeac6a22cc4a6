package ai.coalora.engine.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class QuantConfigTest {
    @Test
    void thereAre432DistinctOptionsSpanning2_03To8_63Bits() {
        List<QuantConfig> all = QuantConfig.all();
        assertEquals(432, all.size());
        assertEquals(432, new HashSet<>(all).size());
        double min = all.stream().mapToDouble(QuantConfig::bitsPerWeight).min().orElseThrow();
        double max = all.stream().mapToDouble(QuantConfig::bitsPerWeight).max().orElseThrow();
        assertEquals(2 + 2.0 / 64 + 16.0 / (64 * 256), min, 0.0);
        assertEquals(8 + 8.0 / 16 + 32.0 / (16 * 16), max, 0.0);
        assertEquals(2.03, min, 0.006);
        assertEquals(8.63, max, 0.006);
        for (int i = 0; i < all.size(); i++) assertEquals(i, all.get(i).index());
    }

    @Test
    void bitsPerWeightFollowsTheFormula() {
        QuantConfig c = new QuantConfig(3, 8, ScaleType.FP16, 64, 256);
        assertEquals(3 + 8.0 / 64 + 16.0 / 16384, c.bitsPerWeight(), 0.0);
        for (QuantConfig q : QuantConfig.all()) {
            assertEquals(q.bitsPerWeight(), q.bitUnitsPerWeight() / (double) QuantConfig.BIT_UNITS_PER_BIT, 0.0);
        }
        assertEquals(c, QuantConfig.integerOnly(3));
    }

    @Test
    void rejectsValuesOutsideTheChoiceSets() {
        var e = assertThrows(IllegalArgumentException.class, () -> new QuantConfig(5, 8, ScaleType.FP16, 64, 256));
        assertTrue(e.getMessage().contains("b must be one of"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new QuantConfig(4, 1, ScaleType.FP16, 64, 256));
        assertThrows(IllegalArgumentException.class, () -> new QuantConfig(4, 8, null, 64, 256));
        var e2 = assertThrows(IllegalArgumentException.class, () -> new QuantConfig(4, 8, ScaleType.FP16, 128, 256));
        assertTrue(e2.getMessage().startsWith("B0"), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new QuantConfig(4, 8, ScaleType.FP16, 64, 32));
        assertThrows(IllegalArgumentException.class, () -> QuantConfig.integerOnly(6));
    }
}
