package ai.coalora.engine.gguf;

import ai.coalora.engine.quant.ScaleType;

/**
 * ggml's block formats in pure Java: dequantization reads the published layouts ({@code ggml-common.h}
 * structs, {@code dequantize_row_*} in {@code ggml-quants.c}) exactly, with the same float operations in the
 * same order, so that a file we write decodes in llama.cpp to what it decodes to here.
 *
 * <p>Quantization is our own and deliberately plain (ggml's reference quantizers search scales iteratively):
 *
 * <ul>
 *   <li>Q8_0: {@code d = max|x| / 127}, {@code q = round(x / d)}.
 *   <li>Q4_0: ggml's rule: {@code d = m / -8} with {@code m} the element of largest magnitude (kept with its sign,
 *       so it lands exactly on the end of the 16 levels), {@code q = clamp(round(x / d) + 8, 0, 15)}.
 *   <li>Q2_K, Q4_K, Q5_K ({@code x = d*sc*q - dmin*m}): per sub-block, the range {@code [min(0, lo), hi]}; the
 *       super-block scales are fp16 {@code d = max(scale) / smax}, {@code dmin = max(min) / smax}; per sub-block
 *       the integer scale and min are rounded down or up, whichever of the (up to 4) choices gives the smaller
 *       squared error of the sub-block.
 *   <li>Q3_K, Q6_K ({@code x = d*sc*q}, symmetric): per sub-block the largest-magnitude element maps to the most
 *       negative level (ggml's sign trick), the super-block scale makes the largest sub-block scale the most
 *       negative integer scale, and each integer scale is rounded down or up, whichever errs less.
 * </ul>
 *
 * <p>Every quantized value is computed against the scales exactly as they are stored (fp16, integer codes), so
 * the stored codes are the nearest levels of the grid the decoder will see.
 */
final class GgmlQuants {
    private GgmlQuants() {}

    static final int QK_K = 256;

    static void quantize(GgufType type, float[] x, byte[] out) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < x.length; i++) putInt(out, 4 * i, Float.floatToRawIntBits(x[i]));
            }
            case F16 -> {
                for (int i = 0; i < x.length; i++) putShort(out, 2 * i, ScaleType.FP16.encode(x[i]));
            }
            case BF16 -> {
                for (int i = 0; i < x.length; i++) putShort(out, 2 * i, ScaleType.BF16.encode(x[i]));
            }
            default -> {
                requireFinite(type, x);
                int blocks = x.length / type.blockSize;
                for (int b = 0; b < blocks; b++) {
                    int xo = b * type.blockSize, yo = b * type.bytesPerBlock;
                    switch (type) {
                        case Q8_0 -> quantizeQ8_0(x, xo, out, yo);
                        case Q4_0 -> quantizeQ4_0(x, xo, out, yo);
                        case Q2_K -> quantizeQ2K(x, xo, out, yo);
                        case Q3_K -> quantizeQ3K(x, xo, out, yo);
                        case Q4_K -> quantizeQ4K(x, xo, out, yo);
                        case Q5_K -> quantizeQ5K(x, xo, out, yo);
                        case Q6_K -> quantizeQ6K(x, xo, out, yo);
                        default -> throw new UnsupportedOperationException(type.toString());
                    }
                }
            }
        }
    }

    static void dequantize(GgufType type, byte[] in, float[] y) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < y.length; i++) y[i] = Float.intBitsToFloat(getInt(in, 4 * i));
            }
            case F16 -> {
                for (int i = 0; i < y.length; i++) y[i] = half(in, 2 * i);
            }
            case BF16 -> {
                for (int i = 0; i < y.length; i++) y[i] = ScaleType.BF16.decode(getShort(in, 2 * i));
            }
            default -> {
                int blocks = y.length / type.blockSize;
                for (int b = 0; b < blocks; b++) {
                    int xo = b * type.bytesPerBlock, yo = b * type.blockSize;
                    switch (type) {
                        case Q8_0 -> dequantizeQ8_0(in, xo, y, yo);
                        case Q4_0 -> dequantizeQ4_0(in, xo, y, yo);
                        case Q2_K -> dequantizeQ2K(in, xo, y, yo);
                        case Q3_K -> dequantizeQ3K(in, xo, y, yo);
                        case Q4_K -> dequantizeQ4K(in, xo, y, yo);
                        case Q5_K -> dequantizeQ5K(in, xo, y, yo);
                        case Q6_K -> dequantizeQ6K(in, xo, y, yo);
                        default -> throw new UnsupportedOperationException(type.toString());
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- Q8_0: {fp16 d; int8 qs[32]}

    private static void quantizeQ8_0(float[] x, int xo, byte[] y, int yo) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[xo + i]));
        float d = storeHalf(y, yo, amax / 127f);
        for (int i = 0; i < 32; i++) y[yo + 2 + i] = (byte) (d == 0 ? 0 : clamp(Math.round(x[xo + i] / d), -127, 127));
    }

    private static void dequantizeQ8_0(byte[] x, int xo, float[] y, int yo) {
        float d = half(x, xo);
        for (int j = 0; j < 32; j++) y[yo + j] = x[xo + 2 + j] * d;
    }

    // ---------------------------------------------------------------- Q4_0: {fp16 d; uint8 qs[16]}, element j in the
    // low nibble of qs[j], element j+16 in the high nibble; x = (q - 8) * d

    private static void quantizeQ4_0(float[] x, int xo, byte[] y, int yo) {
        float max = 0;
        for (int i = 0; i < 32; i++) if (Math.abs(x[xo + i]) > Math.abs(max)) max = x[xo + i];
        float d = storeHalf(y, yo, max / -8f);
        for (int j = 0; j < 16; j++) {
            int q0 = d == 0 ? 8 : clamp(Math.round(x[xo + j] / d) + 8, 0, 15);
            int q1 = d == 0 ? 8 : clamp(Math.round(x[xo + j + 16] / d) + 8, 0, 15);
            y[yo + 2 + j] = (byte) (q0 | q1 << 4);
        }
    }

    private static void dequantizeQ4_0(byte[] x, int xo, float[] y, int yo) {
        float d = half(x, xo);
        for (int j = 0; j < 16; j++) {
            int q = x[xo + 2 + j] & 0xff;
            y[yo + j] = ((q & 0x0F) - 8) * d;
            y[yo + j + 16] = ((q >>> 4) - 8) * d;
        }
    }

    // ---------------------------------------------------------------- Q2_K: {uint8 scales[16]; uint8 qs[64];
    // fp16 d; fp16 dmin}. Sub-block s (16 weights) has scale code scales[s] & 15 and min code scales[s] >> 4.
    // Weight w: half h = w/128, group g = (w%128)/32, l = w%32 -> 2 bits at shift 2g of qs[32h + l].

    private static final int Q2K_QS = 16, Q2K_D = 80;

    private static void quantizeQ2K(float[] x, int xo, byte[] y, int yo) {
        int[] codes = new int[QK_K];
        int[] sc = new int[16], mn = new int[16];
        float[] dm = quantizeWithMins(x, xo, 16, 16, 3, 15, codes, sc, mn);
        putShort(y, yo + Q2K_D, ScaleType.FP16.encode(dm[0]));
        putShort(y, yo + Q2K_D + 2, ScaleType.FP16.encode(dm[1]));
        for (int s = 0; s < 16; s++) y[yo + s] = (byte) (sc[s] | mn[s] << 4);
        for (int w = 0; w < QK_K; w++) {
            int h = w / 128, g = (w % 128) / 32, l = w % 32;
            y[yo + Q2K_QS + 32 * h + l] |= (byte) (codes[w] << (2 * g));
        }
    }

    private static void dequantizeQ2K(byte[] x, int xo, float[] y, int yo) {
        float d = half(x, xo + Q2K_D), min = half(x, xo + Q2K_D + 2);
        for (int w = 0; w < QK_K; w++) {
            int h = w / 128, g = (w % 128) / 32, l = w % 32;
            int sc = x[xo + w / 16] & 0xff;
            float dl = d * (sc & 0xF), ml = min * (sc >>> 4);
            int q = ((x[xo + Q2K_QS + 32 * h + l] & 0xff) >>> (2 * g)) & 3;
            y[yo + w] = dl * q - ml;
        }
    }

    // ---------------------------------------------------------------- Q3_K: {uint8 hmask[32]; uint8 qs[64];
    // uint8 scales[12]; fp16 d}. 16 sub-blocks of 16, 6-bit scale codes u (scale u - 32): the low 4 bits of code s
    // in scales[s] (s < 8) or the high nibble of scales[s-8], its high 2 bits at shift 2*(s/4) of scales[8 + s%4].
    // Weight w: h = w/128, g = (w%128)/32, l = w%32 -> low 2 bits at shift 2g of qs[32h + l], high bit at bit
    // 4h + g of hmask[l]; value = low - (high ? 0 : 4).

    private static final int Q3K_QS = 32, Q3K_SCALES = 96, Q3K_D = 108;

    private static void quantizeQ3K(float[] x, int xo, byte[] y, int yo) {
        int[] codes = new int[QK_K];
        int[] sc = new int[16];
        float d = quantizeSymmetric(x, xo, 16, 4, 32, 31, codes, sc);
        putShort(y, yo + Q3K_D, ScaleType.FP16.encode(d));
        for (int s = 0; s < 16; s++) {
            int u = sc[s] + 32;
            if (s < 8) y[yo + Q3K_SCALES + s] |= (byte) (u & 0xF);
            else y[yo + Q3K_SCALES + s - 8] |= (byte) ((u & 0xF) << 4);
            y[yo + Q3K_SCALES + 8 + s % 4] |= (byte) ((u >>> 4) << (2 * (s / 4)));
        }
        for (int w = 0; w < QK_K; w++) {
            int u = codes[w] + 4; // 0..7
            int h = w / 128, g = (w % 128) / 32, l = w % 32;
            y[yo + Q3K_QS + 32 * h + l] |= (byte) ((u & 3) << (2 * g));
            if (u >= 4) y[yo + l] |= (byte) (1 << (4 * h + g));
        }
    }

    static int q3kScale(byte[] x, int scalesOffset, int s) {
        int low = s < 8 ? x[scalesOffset + s] & 0xF : (x[scalesOffset + s - 8] & 0xff) >>> 4;
        int high = ((x[scalesOffset + 8 + s % 4] & 0xff) >>> (2 * (s / 4))) & 3;
        return (low | high << 4) - 32;
    }

    private static void dequantizeQ3K(byte[] x, int xo, float[] y, int yo) {
        float dAll = half(x, xo + Q3K_D);
        for (int w = 0; w < QK_K; w++) {
            int h = w / 128, g = (w % 128) / 32, l = w % 32;
            float dl = dAll * q3kScale(x, xo + Q3K_SCALES, w / 16);
            int low = ((x[xo + Q3K_QS + 32 * h + l] & 0xff) >>> (2 * g)) & 3;
            boolean high = (x[xo + l] & (1 << (4 * h + g))) != 0;
            y[yo + w] = dl * (low - (high ? 0 : 4));
        }
    }

    // ---------------------------------------------------------------- Q4_K / Q5_K: {fp16 d; fp16 dmin;
    // uint8 scales[12]; (Q5_K: uint8 qh[32];) uint8 qs[128]}. 8 sub-blocks of 32 with 6-bit scale and min codes
    // (packed as ggml's get_scale_min_k4 reads them). Weight w: chunk c = w/64, within r = w%64 -> the low
    // (r < 32) or high nibble of qs[32c + r%32]; Q5_K's fifth bit is bit 2c + r/32 of qh[r%32].

    private static final int K4_SCALES = 4, Q4K_QS = 16, Q5K_QH = 16, Q5K_QS = 48;

    private static void quantizeQ4K(float[] x, int xo, byte[] y, int yo) {
        quantizeQ45K(x, xo, y, yo, false);
    }

    private static void quantizeQ5K(float[] x, int xo, byte[] y, int yo) {
        quantizeQ45K(x, xo, y, yo, true);
    }

    private static void quantizeQ45K(float[] x, int xo, byte[] y, int yo, boolean five) {
        int[] codes = new int[QK_K];
        int[] sc = new int[8], mn = new int[8];
        float[] dm = quantizeWithMins(x, xo, 8, 32, five ? 31 : 15, 63, codes, sc, mn);
        putShort(y, yo, ScaleType.FP16.encode(dm[0]));
        putShort(y, yo + 2, ScaleType.FP16.encode(dm[1]));
        for (int j = 0; j < 4; j++) {
            y[yo + K4_SCALES + j] = (byte) (sc[j] | (sc[j + 4] >>> 4) << 6);
            y[yo + K4_SCALES + j + 4] = (byte) (mn[j] | (mn[j + 4] >>> 4) << 6);
            y[yo + K4_SCALES + j + 8] = (byte) ((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
        }
        int qs = five ? Q5K_QS : Q4K_QS;
        for (int w = 0; w < QK_K; w++) {
            int c = w / 64, r = w % 64;
            int q = codes[w];
            y[yo + qs + 32 * c + r % 32] |= (byte) ((q & 0xF) << (r < 32 ? 0 : 4));
            if (five && q >= 16) y[yo + Q5K_QH + r % 32] |= (byte) (1 << (2 * c + r / 32));
        }
    }

    /** ggml's get_scale_min_k4: {scale code, min code} of sub-block j (0..7) from the 12 packed bytes. */
    static int[] scaleMinK4(byte[] x, int o, int j) {
        if (j < 4) return new int[] {x[o + j] & 63, x[o + j + 4] & 63};
        int sc = (x[o + j + 4] & 0xF) | ((x[o + j - 4] & 0xff) >>> 6) << 4;
        int m = ((x[o + j + 4] & 0xff) >>> 4) | ((x[o + j] & 0xff) >>> 6) << 4;
        return new int[] {sc, m};
    }

    private static void dequantizeQ4K(byte[] x, int xo, float[] y, int yo) {
        dequantizeQ45K(x, xo, y, yo, false);
    }

    private static void dequantizeQ5K(byte[] x, int xo, float[] y, int yo) {
        dequantizeQ45K(x, xo, y, yo, true);
    }

    private static void dequantizeQ45K(byte[] x, int xo, float[] y, int yo, boolean five) {
        float d = half(x, xo), min = half(x, xo + 2);
        int qs = five ? Q5K_QS : Q4K_QS;
        for (int j = 0; j < 8; j++) {
            int[] sm = scaleMinK4(x, xo + K4_SCALES, j);
            float dj = d * sm[0], mj = min * sm[1];
            int c = j / 2, shift = (j % 2) * 4;
            for (int l = 0; l < 32; l++) {
                int q = ((x[xo + qs + 32 * c + l] & 0xff) >>> shift) & 0xF;
                if (five && (x[xo + Q5K_QH + l] & (1 << j)) != 0) q += 16; // bit 2c + r/32 == j
                y[yo + 32 * j + l] = dj * q - mj;
            }
        }
    }

    // ---------------------------------------------------------------- Q6_K: {uint8 ql[128]; uint8 qh[64];
    // int8 scales[16]; fp16 d}. Weight w: h = w/128, g = (w%128)/32, l = w%32 -> the low (g < 2) or high nibble
    // of ql[64h + l + 32*(g%2)], 2 high bits at shift 2g of qh[32h + l]; value = code - 32, scale scales[w/16].

    private static final int Q6K_QH = 128, Q6K_SCALES = 192, Q6K_D = 208;

    private static void quantizeQ6K(float[] x, int xo, byte[] y, int yo) {
        int[] codes = new int[QK_K];
        int[] sc = new int[16];
        float d = quantizeSymmetric(x, xo, 16, 32, 128, 127, codes, sc);
        putShort(y, yo + Q6K_D, ScaleType.FP16.encode(d));
        for (int s = 0; s < 16; s++) y[yo + Q6K_SCALES + s] = (byte) sc[s];
        for (int w = 0; w < QK_K; w++) {
            int u = codes[w] + 32; // 0..63
            int h = w / 128, g = (w % 128) / 32, l = w % 32;
            y[yo + 64 * h + l + 32 * (g % 2)] |= (byte) ((u & 0xF) << (g < 2 ? 0 : 4));
            y[yo + Q6K_QH + 32 * h + l] |= (byte) ((u >>> 4) << (2 * g));
        }
    }

    private static void dequantizeQ6K(byte[] x, int xo, float[] y, int yo) {
        float d = half(x, xo + Q6K_D);
        for (int w = 0; w < QK_K; w++) {
            int h = w / 128, g = (w % 128) / 32, l = w % 32;
            int low = ((x[xo + 64 * h + l + 32 * (g % 2)] & 0xff) >>> (g < 2 ? 0 : 4)) & 0xF;
            int high = ((x[xo + Q6K_QH + 32 * h + l] & 0xff) >>> (2 * g)) & 3;
            int q = (low | high << 4) - 32;
            y[yo + w] = d * x[xo + Q6K_SCALES + w / 16] * q;
        }
    }

    // ---------------------------------------------------------------- scale selection

    /**
     * Asymmetric sub-blocks, {@code x = (d*sc)*q - (dmin*m)}, q in [0, qmax], sc and m in [0, smax].
     * Fills codes, sc, mn and returns {d, dmin} as stored (fp16-rounded).
     */
    private static float[] quantizeWithMins(
            float[] x, int xo, int subBlocks, int size, int qmax, int smax, int[] codes, int[] sc, int[] mn) {
        float[] scale = new float[subBlocks], min = new float[subBlocks];
        float maxScale = 0, maxMin = 0;
        for (int s = 0; s < subBlocks; s++) {
            float lo = 0, hi = -Float.MAX_VALUE;
            for (int i = 0; i < size; i++) {
                float v = x[xo + s * size + i];
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            scale[s] = Math.max(0, (hi - lo) / qmax);
            min[s] = -lo;
            maxScale = Math.max(maxScale, scale[s]);
            maxMin = Math.max(maxMin, min[s]);
        }
        float d = ceilHalf(maxScale / smax), dmin = ceilHalf(maxMin / smax);
        int[] trial = new int[size];
        for (int s = 0; s < subBlocks; s++) {
            double best = Double.POSITIVE_INFINITY;
            int[] mCandidates = candidates(dmin == 0 ? 0 : min[s] / dmin, 0, smax);
            for (int m : mCandidates) {
                float ml = dmin * m;
                // the scale must reach from -ml up to the sub-block's top
                float top = -min[s] + scale[s] * qmax;
                int[] sCandidates = candidates(d == 0 ? 0 : (top + ml) / (qmax * d), 0, smax);
                for (int c : sCandidates) {
                    float dl = d * c;
                    double err = 0;
                    for (int i = 0; i < size; i++) {
                        float v = x[xo + s * size + i];
                        int q = dl == 0 ? 0 : clamp(Math.round((v + ml) / dl), 0, qmax);
                        trial[i] = q;
                        double e = dl * q - ml - v;
                        err += e * e;
                    }
                    if (err < best) {
                        best = err;
                        sc[s] = c;
                        mn[s] = m;
                        System.arraycopy(trial, 0, codes, s * size, size);
                    }
                }
            }
        }
        return new float[] {d, dmin};
    }

    /**
     * Symmetric sub-blocks of 16, {@code x = (d*sc)*q}, q in [-qneg, qneg-1], sc in [-sneg, smaxPos]. Fills codes
     * (signed) and sc (signed) and returns d as stored.
     */
    private static float quantizeSymmetric(
            float[] x, int xo, int size, int qneg, int sneg, int smaxPos, int[] codes, int[] sc) {
        int subBlocks = QK_K / size;
        float[] scale = new float[subBlocks];
        float maxScale = 0;
        for (int s = 0; s < subBlocks; s++) {
            float max = 0;
            for (int i = 0; i < size; i++) {
                float v = x[xo + s * size + i];
                if (Math.abs(v) > Math.abs(max)) max = v;
            }
            scale[s] = max / -qneg; // the largest-magnitude element lands on -qneg
            if (Math.abs(scale[s]) > Math.abs(maxScale)) maxScale = scale[s];
        }
        float d = ceilHalf(maxScale / -sneg); // the largest scale lands on -sneg (or just inside)
        int[] trial = new int[size];
        for (int s = 0; s < subBlocks; s++) {
            double best = Double.POSITIVE_INFINITY;
            for (int c : candidates(d == 0 ? 0 : scale[s] / d, -sneg, smaxPos)) {
                float dl = d * c;
                double err = 0;
                for (int i = 0; i < size; i++) {
                    float v = x[xo + s * size + i];
                    int q = dl == 0 ? 0 : clamp(Math.round(v / dl), -qneg, qneg - 1);
                    trial[i] = q;
                    double e = dl * q - v;
                    err += e * e;
                }
                if (err < best) {
                    best = err;
                    sc[s] = c;
                    System.arraycopy(trial, 0, codes, s * size, size);
                }
            }
        }
        return d;
    }

    /** floor and ceil of {@code v}, clamped to [lo, hi] (one value when they coincide). */
    private static int[] candidates(float v, int lo, int hi) {
        int f = clamp((int) Math.floor(v), lo, hi), c = clamp((int) Math.ceil(v), lo, hi);
        return f == c ? new int[] {f} : new int[] {f, c};
    }

    // ---------------------------------------------------------------- bytes

    private static void requireFinite(GgufType type, float[] x) {
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i]))
                throw new IllegalArgumentException(type + ": element " + i + " is " + x[i] + ", not finite");
        }
    }

    /** Rounds to fp16; an IllegalArgumentException when a scale would not fit (values beyond ~8e6 for Q8_0). */
    private static float roundHalf(float v) {
        float r = ScaleType.FP16.round(v);
        if (Float.isInfinite(r))
            throw new IllegalArgumentException(
                    "block scale " + v + " overflows fp16 (weights too large for ggml block types)");
        return r;
    }

    /**
     * The fp16 value nearest {@code v} that is at least as large in magnitude: a super-block scale rounded up, so the
     * largest sub-block scale still fits its integer code (fp16 is coarse below 6.1e-5, where LLM block scales lie).
     */
    private static float ceilHalf(float v) {
        float r = roundHalf(v);
        if (Math.abs(r) < Math.abs(v))
            r = roundHalf(ScaleType.FP16.decode(ScaleType.FP16.encode(r) + 1)); // next in magnitude
        return r;
    }

    private static float storeHalf(byte[] y, int o, float v) {
        float r = roundHalf(v);
        putShort(y, o, ScaleType.FP16.encode(r));
        return r;
    }

    static float half(byte[] b, int o) {
        return ScaleType.FP16.decode(getShort(b, o));
    }

    static int getShort(byte[] b, int o) {
        return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8;
    }

    static void putShort(byte[] b, int o, int v) {
        b[o] = (byte) v;
        b[o + 1] = (byte) (v >>> 8);
    }

    static int getInt(byte[] b, int o) {
        return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16 | (b[o + 3] & 0xff) << 24;
    }

    static void putInt(byte[] b, int o, int v) {
        b[o] = (byte) v;
        b[o + 1] = (byte) (v >>> 8);
        b[o + 2] = (byte) (v >>> 16);
        b[o + 3] = (byte) (v >>> 24);
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
