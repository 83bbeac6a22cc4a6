package ai.coalora.engine.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NormalFloatTest {
    /** QLoRA's published NF4 table (bitsandbytes). */
    private static final double[] QLORA_NF4 = {
        -1.0,
        -0.6961928009986877,
        -0.5250730514526367,
        -0.39491748809814453,
        -0.28444138169288635,
        -0.18477343022823334,
        -0.09105003625154495,
        0.0,
        0.07958029955625534,
        0.16093020141124725,
        0.24611230194568634,
        0.33791524171829224,
        0.44070982933044434,
        0.5626170039176941,
        0.7229568362236023,
        1.0
    };

    @Test
    void nf4MatchesQloraTable() {
        float[] nf4 = NormalFloat.codebook(4);
        assertEquals(16, nf4.length);
        for (int i = 0; i < 16; i++) assertEquals(QLORA_NF4[i], nf4[i], 1e-6, "level " + i);
    }

    @Test
    void codebooksAreSortedWithExactZeroAndUnitExtremes() {
        for (int k : new int[] {2, 3, 4, 8}) {
            float[] levels = NormalFloat.codebook(k);
            assertEquals(1 << k, levels.length);
            assertEquals(-1f, levels[0]);
            assertEquals(1f, levels[levels.length - 1]);
            assertEquals(0f, levels[(1 << (k - 1)) - 1]); // 2^(k-1)-1 negatives below zero
            for (int i = 1; i < levels.length; i++) assertTrue(levels[i] > levels[i - 1]);
        }
    }

    @Test
    void normalFunctionsArePrecise() {
        assertEquals(0.4795001221869535, NormalFloat.erfc(0.5), 1e-15);
        assertEquals(0.15729920705028513, NormalFloat.erfc(1.0), 1e-15);
        assertEquals(0.004677734981047266, NormalFloat.erfc(2.0), 1e-16);
        assertEquals(2.209049699858544e-05, NormalFloat.erfc(3.0), 1e-18);
        assertEquals(1.5374597944280349e-12, NormalFloat.erfc(5.0), 1e-24);
        assertEquals(1.959963984540054, NormalFloat.inverseCdf(0.975), 1e-12);
        assertEquals(-2.3263478740408408, NormalFloat.inverseCdf(0.01), 1e-12);
        assertEquals(0.0, NormalFloat.inverseCdf(0.5), 1e-15);
        assertEquals(-4.753424308822899, NormalFloat.inverseCdf(1e-6), 1e-10);
        for (double p = 0.001; p < 1; p += 0.0137) {
            assertEquals(p, NormalFloat.cdf(NormalFloat.inverseCdf(p)), 1e-14);
        }
    }
}
