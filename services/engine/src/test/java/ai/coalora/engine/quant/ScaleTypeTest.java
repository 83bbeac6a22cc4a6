package ai.coalora.engine.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ScaleTypeTest {
    @Test
    void halfRoundTripsEveryPattern() {
        for (int h = 0; h < 0x10000; h++) {
            float f = ScaleType.halfToFloat(h);
            if (Float.isNaN(f)) continue;
            assertEquals(h, ScaleType.floatToHalf(f), "pattern " + Integer.toHexString(h));
        }
    }

    @Test
    void halfRoundsToNearestEven() {
        ScaleType t = ScaleType.FP16;
        assertEquals(1.0f, t.round(1.0f + 0x1p-11f)); // tie -> even (1.0)
        assertEquals(1.0f + 0x1p-9f, t.round(1.0f + 3 * 0x1p-11f)); // tie -> even (upper)
        assertEquals(1.0f + 0x1p-10f, t.round(1.0f + 0x1p-11f + 0x1p-20f)); // above the tie
        assertEquals(65504f, t.round(65519f));
        assertEquals(Float.POSITIVE_INFINITY, t.round(65520f));
        assertEquals(0x1p-24f, t.round(0x1p-24f)); // smallest subnormal
        assertEquals(0f, t.round(0x1p-25f)); // tie with zero -> even (0)
        assertEquals(0x1p-24f, t.round(0x1.8p-25f));
        assertEquals(0x1p-14f, t.round(0x1p-14f - 0x1p-26f)); // rounds up into the smallest normal
        assertEquals(-2.5f, t.round(-2.5f));
        assertTrue(Float.isNaN(t.round(Float.NaN)));
    }

    @Test
    void bfloat16KeepsTheTopSixteenBitsRoundedToNearestEven() {
        ScaleType t = ScaleType.BF16;
        assertEquals(1.0f, t.round(1.0f + 0x1p-8f)); // tie -> even
        assertEquals(1.0f + 0x1p-6f, t.round(1.0f + 3 * 0x1p-8f)); // tie -> even (upper)
        assertEquals(1.0f + 0x1p-7f, t.round(1.0f + 0x1p-8f + 0x1p-20f));
        assertEquals(0.0f, Float.intBitsToFloat(Float.floatToRawIntBits(t.round(0.123f)) & 0xFFFF));
        assertEquals(ScaleType.BF16.maxFinite(), t.round(ScaleType.BF16.maxFinite()));
        assertTrue(Float.isNaN(t.round(Float.NaN)));
    }

    @Test
    void fp32IsExact() {
        assertEquals(0.1234567f, ScaleType.FP32.round(0.1234567f));
        assertEquals(32, ScaleType.FP32.bits());
        assertEquals(16, ScaleType.BF16.bits());
        assertEquals(16, ScaleType.FP16.bits());
    }
}
