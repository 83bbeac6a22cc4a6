package ai.coalora.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.coalora.engine.quant.ScaleType;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * ggml's block layouts: hand-built blocks decode to values worked out by hand from the published structs, and
 * random blocks decode exactly as a line-by-line transliteration of ggml's {@code dequantize_row_*} loops (written
 * here in ggml's pointer-walking form, independently of the index arithmetic of the implementation).
 */
class GgufBlockLayoutTest {

    @Test
    void handBuiltQ4KBlock() {
        // block_q4_K: fp16 d = 1.0, fp16 dmin = 0.5, scales[12], qs[128]
        // 6-bit scales sc = {1, 2, 3, 4, 33, 47, 63, 17}, mins m = {0, 5, 10, 63, 1, 2, 40, 20}, packed as
        // get_scale_min_k4 reads them: bytes 0-3 sc[0..3] | (sc[4..7] >> 4) << 6, bytes 4-7 m[0..3] | (m[4..7] >> 4) <<
        // 6,
        // bytes 8-11 (sc[4..7] & 15) | (m[4..7] & 15) << 4.
        byte[] block = new byte[144];
        block[0] = 0x00;
        block[1] = 0x3C; // 1.0
        block[2] = 0x00;
        block[3] = 0x38; // 0.5
        int[] scales = {0x81, 0x82, 0xC3, 0x44, 0x00, 0x05, 0x8A, 0x7F, 0x11, 0x2F, 0x8F, 0x41};
        for (int i = 0; i < 12; i++) block[4 + i] = (byte) scales[i];
        // qs: 4 chunks of 32 bytes; sub-block 2c in the low nibbles, 2c+1 in the high nibbles
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) block[16 + 32 * c + l] = (byte) ((l % 16) | (15 - l % 16) << 4);
        float[] y = GgufType.Q4_K.dequantize(block);
        assertEquals(0f, y[0]); // j=0: 1*1*0 - 0.5*0
        assertEquals(1f, y[1]); // j=0: 1*1*1
        assertEquals(2 * 15 - 2.5f, y[32]); // j=1 (high nibble 15): 2*15 - 0.5*5
        assertEquals(3 * 2 - 5f, y[64 + 2]); // j=2: 3*2 - 0.5*10
        assertEquals(4 * 15 - 31.5f, y[96]); // j=3: 4*15 - 0.5*63
        assertEquals(33 * 3 - 0.5f, y[128 + 3]); // j=4: sc and m from the packed high bits: 33*3 - 0.5*1
        assertEquals(47 * 14 - 1f, y[160 + 1]); // j=5: 47*14 - 0.5*2
        assertEquals(63 * 5 - 20f, y[192 + 5]); // j=6: 63*5 - 0.5*40
        assertEquals(17 * 15 - 10f, y[224]); // j=7: 17*15 - 0.5*20
        assertEquals(17 * 0 - 10f, y[255]); // j=7, l=31: high nibble of 15 - 15 = 0
    }

    @Test
    void handBuiltQ6KBlock() {
        // block_q6_K: ql[128], qh[64], int8 scales[16], fp16 d = 0.25; all codes 0 (value -32) except below
        byte[] block = new byte[210];
        int[] sc = {1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 127, -128};
        for (int i = 0; i < 16; i++) block[192 + i] = (byte) sc[i];
        block[208] = 0x00;
        block[209] = 0x34; // 0.25
        block[0] = (byte) 0xF3; // weight 0: low nibble 3; weight 64: high nibble 15
        block[32] = (byte) 0x7C; // weight 32: low nibble 12; weight 96: high nibble 7
        block[128] = (byte) 0xE4; // qh[0]: 2-bit highs 0 (w0), 1 (w32), 2 (w64), 3 (w96)
        block[64 + 5] = 0x0A; // second half, l=5: weight 133 low nibble 10; weight 197 high nibble 0
        block[128 + 32 + 5] = 0x03; // qh for weight 133: high bits 3
        float[] y = GgufType.Q6_K.dequantize(block);
        assertEquals(0.25f * 1 * (3 - 32), y[0]); // -7.25
        assertEquals(0.25f * 2 * (12 + 16 - 32), y[32]); // sc[2]: -2
        assertEquals(0.25f * 3 * (15 + 32 - 32), y[64]); // sc[4]: 11.25
        assertEquals(0.25f * 4 * (7 + 48 - 32), y[96]); // sc[6]: 23
        assertEquals(0.25f * 5 * (10 + 48 - 32), y[133]); // sc[8]: 32.5
        assertEquals(0.25f * 7 * -32, y[197]); // sc[12]: -56
        assertEquals(0.25f * 127 * -32, y[224]); // sc[14]: -1016
        assertEquals(0.25f * -128 * -32, y[255]); // sc[15]: 1024
        assertEquals(0.25f * -1 * -32, y[16]); // sc[1]: 8
    }

    @Test
    void handBuiltQ8_0AndQ4_0Blocks() {
        byte[] q8 = new byte[34];
        q8[0] = 0x00;
        q8[1] = 0x40; // d = 2.0
        q8[2] = (byte) -128;
        q8[3] = 127;
        q8[33] = -1;
        float[] y8 = GgufType.Q8_0.dequantize(q8);
        assertEquals(-256f, y8[0]);
        assertEquals(254f, y8[1]);
        assertEquals(-2f, y8[31]);
        byte[] q4 = new byte[18];
        q4[0] = 0x00;
        q4[1] = (byte) 0xBC; // d = -1.0
        q4[2] = (byte) 0xF0; // element 0: low nibble 0 -> (0-8)*-1 = 8; element 16: high nibble 15 -> -7
        q4[17] = 0x19; // element 15: 9 -> -1; element 31: 1 -> 7
        float[] y4 = GgufType.Q4_0.dequantize(q4);
        assertEquals(8f, y4[0]);
        assertEquals(-7f, y4[16]);
        assertEquals(-1f, y4[15]);
        assertEquals(7f, y4[31]);
    }

    @Test
    void randomBlocksDecodeAsGgmlsLoops() {
        Random random = new Random(42);
        for (int trial = 0; trial < 50; trial++) {
            for (GgufType t : new GgufType[] {
                GgufType.Q8_0, GgufType.Q4_0, GgufType.Q2_K, GgufType.Q3_K, GgufType.Q4_K, GgufType.Q5_K, GgufType.Q6_K
            }) {
                int blocks = 3;
                byte[] data = new byte[blocks * t.bytesPerBlock];
                random.nextBytes(data);
                for (int b = 0; b < blocks; b++) { // finite fp16 scales: exponent field below 31
                    for (int at : halfOffsets(t)) data[b * t.bytesPerBlock + at + 1] &= (byte) 0xBB;
                }
                float[] expected = reference(t, data, blocks);
                float[] actual = t.dequantize(data);
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(
                            Float.floatToIntBits(expected[i]),
                            Float.floatToIntBits(actual[i]),
                            t + " trial " + trial + " element " + i + ": " + expected[i] + " vs " + actual[i]);
                }
            }
        }
    }

    @Test
    void quantizedBlocksAreReadBackTheSameWayByTheReference() {
        float[] x = GgufTypeTest.gaussian(1024, 5);
        for (GgufType t : new GgufType[] {
            GgufType.Q8_0, GgufType.Q4_0, GgufType.Q2_K, GgufType.Q3_K, GgufType.Q4_K, GgufType.Q5_K, GgufType.Q6_K
        }) {
            byte[] q = t.quantize(x);
            float[] expected = reference(t, q, x.length / t.blockSize);
            float[] actual = t.dequantize(q);
            for (int i = 0; i < x.length; i++) assertEquals(expected[i], actual[i], 0f, t + " element " + i);
        }
    }

    /** Byte offsets of the fp16 fields in a block. */
    private static int[] halfOffsets(GgufType t) {
        return switch (t) {
            case Q8_0, Q4_0 -> new int[] {0};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException();
        };
    }

    // ------------------------------------------------------------ ggml's dequantize_row_* loops, transliterated

    private static float fp16(byte[] x, int at) {
        return ScaleType.FP16.decode((x[at] & 0xff) | (x[at + 1] & 0xff) << 8);
    }

    private static int u8(byte[] x, int at) {
        return x[at] & 0xff;
    }

    private static float[] reference(GgufType t, byte[] x, int nb) {
        float[] y = new float[nb * t.blockSize];
        int yp = 0;
        for (int i = 0; i < nb; i++) {
            int base = i * t.bytesPerBlock;
            switch (t) {
                case Q8_0 -> {
                    float d = fp16(x, base);
                    for (int j = 0; j < 32; ++j) y[i * 32 + j] = x[base + 2 + j] * d;
                }
                case Q4_0 -> {
                    float d = fp16(x, base);
                    for (int j = 0; j < 16; ++j) {
                        int x0 = (u8(x, base + 2 + j) & 0x0F) - 8;
                        int x1 = (u8(x, base + 2 + j) >> 4) - 8;
                        y[i * 32 + j] = x0 * d;
                        y[i * 32 + j + 16] = x1 * d;
                    }
                }
                case Q2_K -> { // scales[16] @0, qs[64] @16, d @80, dmin @82
                    float d = fp16(x, base + 80), min = fp16(x, base + 82);
                    int q = base + 16;
                    int is = 0;
                    for (int n = 0; n < 256; n += 128) {
                        int shift = 0;
                        for (int j = 0; j < 4; ++j) {
                            int sc = u8(x, base + is++);
                            float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                            for (int l = 0; l < 16; ++l) y[yp++] = dl * ((u8(x, q + l) >> shift) & 3) - ml;
                            sc = u8(x, base + is++);
                            dl = d * (sc & 0xF);
                            ml = min * (sc >> 4);
                            for (int l = 0; l < 16; ++l) y[yp++] = dl * ((u8(x, q + l + 16) >> shift) & 3) - ml;
                            shift += 2;
                        }
                        q += 32;
                    }
                }
                case Q3_K -> { // hmask[32] @0, qs[64] @32, scales[12] @96, d @108
                    final int kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
                    float dAll = fp16(x, base + 108);
                    int q = base + 32, hm = base;
                    int m = 1;
                    int[] aux = new int[4];
                    for (int k = 0; k < 3; k++) {
                        int at = base + 96 + 4 * k;
                        aux[k] = u8(x, at) | u8(x, at + 1) << 8 | u8(x, at + 2) << 16 | u8(x, at + 3) << 24;
                    }
                    int tmp = aux[2];
                    aux[2] = ((aux[0] >>> 4) & kmask2) | (((tmp >>> 4) & kmask1) << 4);
                    aux[3] = ((aux[1] >>> 4) & kmask2) | (((tmp >>> 6) & kmask1) << 4);
                    aux[0] = (aux[0] & kmask2) | (((tmp >>> 0) & kmask1) << 4);
                    aux[1] = (aux[1] & kmask2) | (((tmp >>> 2) & kmask1) << 4);
                    byte[] scales = new byte[16];
                    for (int k = 0; k < 16; k++) scales[k] = (byte) (aux[k / 4] >>> (8 * (k % 4)));
                    int is = 0;
                    for (int n = 0; n < 256; n += 128) {
                        int shift = 0;
                        for (int j = 0; j < 4; ++j) {
                            float dl = dAll * (scales[is++] - 32);
                            for (int l = 0; l < 16; ++l) {
                                y[yp++] = dl * (((u8(x, q + l) >> shift) & 3) - ((u8(x, hm + l) & m) != 0 ? 0 : 4));
                            }
                            dl = dAll * (scales[is++] - 32);
                            for (int l = 0; l < 16; ++l) {
                                y[yp++] = dl
                                        * (((u8(x, q + l + 16) >> shift) & 3)
                                                - ((u8(x, hm + l + 16) & m) != 0 ? 0 : 4));
                            }
                            shift += 2;
                            m <<= 1;
                        }
                        q += 32;
                    }
                }
                case Q4_K, Q5_K -> { // d @0, dmin @2, scales[12] @4, (Q5_K: qh[32] @16, qs @48) Q4_K: qs @16
                    boolean five = t == GgufType.Q5_K;
                    float d = fp16(x, base), min = fp16(x, base + 2);
                    int ql = base + (five ? 48 : 16), qh = base + 16;
                    int is = 0;
                    int u1 = 1, u2 = 2;
                    for (int j = 0; j < 256; j += 64) {
                        int[] sm1 = getScaleMinK4(is, x, base + 4), sm2 = getScaleMinK4(is + 1, x, base + 4);
                        float d1 = d * sm1[0], m1 = min * sm1[1];
                        float d2 = d * sm2[0], m2 = min * sm2[1];
                        for (int l = 0; l < 32; ++l) {
                            int hi = five && (u8(x, qh + l) & u1) != 0 ? 16 : 0;
                            y[yp++] = d1 * ((u8(x, ql + l) & 0xF) + hi) - m1;
                        }
                        for (int l = 0; l < 32; ++l) {
                            int hi = five && (u8(x, qh + l) & u2) != 0 ? 16 : 0;
                            y[yp++] = d2 * ((u8(x, ql + l) >> 4) + hi) - m2;
                        }
                        ql += 32;
                        is += 2;
                        u1 <<= 2;
                        u2 <<= 2;
                    }
                }
                case Q6_K -> { // ql[128] @0, qh[64] @128, scales[16] @192, d @208
                    float d = fp16(x, base + 208);
                    int ql = base, qh = base + 128, sc = base + 192;
                    for (int n = 0; n < 256; n += 128) {
                        for (int l = 0; l < 32; ++l) {
                            int is = l / 16;
                            int q1 = ((u8(x, ql + l) & 0xF) | (((u8(x, qh + l) >> 0) & 3) << 4)) - 32;
                            int q2 = ((u8(x, ql + l + 32) & 0xF) | (((u8(x, qh + l) >> 2) & 3) << 4)) - 32;
                            int q3 = ((u8(x, ql + l) >> 4) | (((u8(x, qh + l) >> 4) & 3) << 4)) - 32;
                            int q4 = ((u8(x, ql + l + 32) >> 4) | (((u8(x, qh + l) >> 6) & 3) << 4)) - 32;
                            y[yp + l] = d * x[sc + is] * q1;
                            y[yp + l + 32] = d * x[sc + is + 2] * q2;
                            y[yp + l + 64] = d * x[sc + is + 4] * q3;
                            y[yp + l + 96] = d * x[sc + is + 6] * q4;
                        }
                        yp += 128;
                        ql += 64;
                        qh += 32;
                        sc += 8;
                    }
                }
                default -> throw new IllegalArgumentException(t.toString());
            }
        }
        return y;
    }

    private static int[] getScaleMinK4(int j, byte[] x, int q) {
        if (j < 4) return new int[] {u8(x, q + j) & 63, u8(x, q + j + 4) & 63};
        return new int[] {
            (u8(x, q + j + 4) & 0xF) | ((u8(x, q + j - 4) >> 6) << 4),
            (u8(x, q + j + 4) >> 4) | ((u8(x, q + j) >> 6) << 4)
        };
    }
}
