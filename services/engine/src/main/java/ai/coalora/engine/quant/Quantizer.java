package ai.coalora.engine.quant;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Blockwise, double-quantized weight quantization (method.md "Quantizers").
 *
 * <p>The matrix (HF layout, row-major) is flattened and split into blocks of B0 weights; the last block is
 * conceptually zero-padded, but padding is never stored and never affects a statistic (block statistics are
 * taken over the real weights, which for absmax is the same thing). Per block:
 * <ol>
 *   <li>first-level statistic s0: NF: absmax; INT: range max(hi,0) - min(lo,0);
 *   <li>the matrix-wide minimum of s0 is subtracted and kept as one fp32 offset per matrix;
 *   <li>the shifted s0 are quantized to b0 unsigned bits against one second-level scale s1 per group of B1
 *       blocks (s1 = the group's max shifted s0, stored rounded to format b1);
 *       dequantized s0 = code / (2^b0 - 1) * s1 + offset;
 *   <li>weights: NF: w / s0 rounded to the nearest NF-b level; INT: uniform grid with step s0 / (2^b - 1) and
 *       integer zero point round(-lo / step). A zero scale encodes every weight of the block as exact 0.
 * </ol>
 * {@link #quantize} and {@link #fakeQuantize} share {@link #encode}/{@link #decode}, so the packed matrix
 * dequantizes bit-for-bit to the fake-quantized weights.
 */
public final class Quantizer {
    private Quantizer() {}

    /** Quantizes and bit-packs a matrix. */
    public static PackedMatrix quantize(float[] w, int rows, int cols, QuantConfig c, QuantizerKind kind) {
        return PackedMatrix.pack(encode(w, rows, cols, c, kind));
    }

    /** The dequantized weights {@code Q_c(W)}, without building the packed bytes. */
    public static float[] fakeQuantize(float[] w, int rows, int cols, QuantConfig c, QuantizerKind kind) {
        return decode(encode(w, rows, cols, c, kind));
    }

    static BlockCodes encode(float[] w, int rows, int cols, QuantConfig c, QuantizerKind kind) {
        checkInput(w, rows, cols, c, kind);
        Scales s = Scales.of(w, c, kind);
        int n = w.length;
        int blockSize = c.B0();
        byte[] zeroPoints = kind == QuantizerKind.INT ? new byte[s.blocks()] : new byte[0];
        byte[] weightCodes = new byte[n];
        NearestLevel nearest = kind == QuantizerKind.NF ? NormalFloat.nearestLevel(c.b()) : null;
        int nfZero = kind == QuantizerKind.NF ? zeroIndex(NormalFloat.levels(c.b())) : 0;
        int intLevels = (1 << c.b()) - 1;
        for (int blk = 0; blk < s.blocks(); blk++) {
            int from = blk * blockSize;
            int to = Math.min(from + blockSize, n);
            float scale = s.scale(blk);
            if (kind == QuantizerKind.NF) {
                for (int j = from; j < to; j++) weightCodes[j] = (byte) nfCode(nearest, w[j], scale, nfZero);
            } else {
                float step = intStep(scale, c);
                int zero = intZero(s.blockLow()[blk], step, intLevels);
                zeroPoints[blk] = (byte) zero;
                for (int j = from; j < to; j++) weightCodes[j] = (byte) intCode(w[j], step, zero, intLevels);
            }
        }
        return new BlockCodes(
                rows, cols, c, kind, s.offset(), s.secondLevel(), s.scaleCodes(), zeroPoints, weightCodes);
    }

    /**
     * sum_ij imp[j] (W_ij - Q_c(W)_ij)^2 ({@code importance} null: all 1) without materializing Q_c(W): the same
     * scales, codes and dequantized values as {@link #fakeQuantize} (shared helpers), summed row by row in the
     * order of {@link QuantErrorTable#weightedError}, so the result is bit-identical to it. The error tables
     * evaluate every option of every matrix this way; one pass over the weights and no allocation per weight.
     */
    static double weightedError(float[] w, int rows, int cols, QuantConfig c, QuantizerKind kind, float[] importance) {
        checkInput(w, rows, cols, c, kind);
        return weightedErrorOfChecked(w, cols, c, kind, importance);
    }

    /** {@link #weightedError} of each option, in parallel, the weights checked once rather than once per option. */
    static double[] weightedErrors(
            float[] w, int rows, int cols, List<QuantConfig> options, QuantizerKind kind, float[] importance) {
        checkWeights(w, rows, cols, kind);
        for (QuantConfig c : options) if (c == null) throw new IllegalArgumentException("null argument");
        return IntStream.range(0, options.size())
                .parallel()
                .mapToDouble(i -> weightedErrorOfChecked(w, cols, options.get(i), kind, importance))
                .toArray();
    }

    private static double weightedErrorOfChecked(
            float[] w, int cols, QuantConfig c, QuantizerKind kind, float[] importance) {
        Scales s = Scales.of(w, c, kind);
        int blockSize = c.B0();
        float[] nfLevels = kind == QuantizerKind.NF ? NormalFloat.levels(c.b()) : null;
        NearestLevel nearest = kind == QuantizerKind.NF ? NormalFloat.nearestLevel(c.b()) : null;
        int nfZero = kind == QuantizerKind.NF ? zeroIndex(nfLevels) : 0;
        int intLevels = (1 << c.b()) - 1;
        double total = 0;
        int blk = -1, blockEnd = 0;
        float scale = 0f, step = 0f;
        int zero = 0;
        for (int start = 0; start < w.length; start += cols) {
            double row = 0;
            for (int j = 0; j < cols; j++) {
                int at = start + j;
                if (at == blockEnd) { // next block: its scale (and INT grid)
                    blk++;
                    blockEnd = Math.min(blockEnd + blockSize, w.length);
                    scale = s.scale(blk);
                    if (kind == QuantizerKind.INT) {
                        step = intStep(scale, c);
                        zero = intZero(s.blockLow()[blk], step, intLevels);
                    }
                }
                float q = kind == QuantizerKind.NF
                        ? nfValue(nfLevels, nfCode(nearest, w[at], scale, nfZero), scale)
                        : intValue(intCode(w[at], step, zero, intLevels), zero, step);
                double d = w[at] - q;
                row += importance == null ? d * d : importance[j] * d * d;
            }
            total += row;
        }
        return total;
    }

    /**
     * Steps 1-3 of the class comment: per block the first-level statistic, the matrix-wide offset, and the
     * double-quantized scale codes against one second-level scale per group.
     *
     * @param blockLow per block the lowest weight (at most 0), INT only (null for NF)
     */
    private record Scales(QuantConfig config, float offset, int[] secondLevel, byte[] scaleCodes, float[] blockLow) {
        static Scales of(float[] w, QuantConfig c, QuantizerKind kind) {
            int n = w.length;
            int blockSize = c.B0();
            int blocks = BlockCodes.blockCount(n, c);
            float[] statistic = new float[blocks];
            float[] blockLow = kind == QuantizerKind.INT ? new float[blocks] : null;
            for (int blk = 0; blk < blocks; blk++) {
                int from = blk * blockSize;
                int to = Math.min(from + blockSize, n);
                float lo = 0f;
                float hi = 0f; // starting at 0 widens INT's range to contain zero, and is absmax's identity
                for (int j = from; j < to; j++) { // plain compares: inputs are finite, no NaN/-0 subtleties
                    float v = w[j];
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                }
                if (kind == QuantizerKind.NF) {
                    statistic[blk] = Math.max(-lo, hi);
                } else {
                    statistic[blk] = hi - lo;
                    blockLow[blk] = lo;
                }
            }

            // Double quantization of the first-level statistic.
            float offset = Float.POSITIVE_INFINITY;
            for (float s : statistic) offset = Math.min(offset, s);
            int scaleLevels = (1 << c.b0()) - 1;
            int groups = BlockCodes.groupCount(blocks, c);
            int[] secondLevel = new int[groups];
            byte[] scaleCodes = new byte[blocks];
            for (int g = 0; g < groups; g++) {
                int from = g * c.B1();
                int to = Math.min(from + c.B1(), blocks);
                float groupMax = 0f;
                for (int blk = from; blk < to; blk++) groupMax = Math.max(groupMax, statistic[blk] - offset);
                // Keep s1 finite even for absurd magnitudes: codes then saturate rather than becoming inf/NaN.
                secondLevel[g] = c.b1().encode(Math.min(groupMax, c.b1().maxFinite()));
                float s1 = c.b1().decode(secondLevel[g]);
                for (int blk = from; blk < to; blk++) {
                    int code = s1 > 0f ? Math.round((statistic[blk] - offset) / s1 * scaleLevels) : 0;
                    scaleCodes[blk] = (byte) Math.max(0, Math.min(scaleLevels, code));
                }
            }
            return new Scales(c, offset, secondLevel, scaleCodes, blockLow);
        }

        int blocks() {
            return scaleCodes.length;
        }

        /** The dequantized first-level statistic of a block. */
        float scale(int blk) {
            return firstLevelScale(scaleCodes[blk], secondLevel[blk / config.B1()], offset, config);
        }
    }

    /** NF code: the nearest level to w / scale; a zero scale encodes the weight as exact 0. */
    private static int nfCode(NearestLevel nearest, float w, float scale, int nfZero) {
        return scale > 0f ? nearest.indexOf(w / scale) : nfZero;
    }

    private static float nfValue(float[] levels, int code, float scale) {
        return levels[code] * scale;
    }

    /** INT zero point: round(-lo / step), clamped to the code range. */
    private static int intZero(float blockLow, float step, int intLevels) {
        return step > 0f ? clamp(Math.round(-blockLow / step), intLevels) : 0;
    }

    /** INT code; long arithmetic: a tiny step must saturate the code, not overflow it. */
    private static int intCode(float w, float step, int zero, int intLevels) {
        return step > 0f ? (int) Math.max(0, Math.min(intLevels, Math.round((double) (w / step)) + zero)) : zero;
    }

    private static float intValue(int code, int zero, float step) {
        return (code - zero) * step;
    }

    static float[] decode(BlockCodes k) {
        QuantConfig c = k.config();
        int n = k.weightCodes().length;
        int blockSize = c.B0();
        int blocks = k.scaleCodes().length;
        float[] out = new float[n];
        float[] nfLevels = k.kind() == QuantizerKind.NF ? NormalFloat.levels(c.b()) : null;
        byte[] codes = k.weightCodes();
        for (int blk = 0; blk < blocks; blk++) {
            int from = blk * blockSize;
            int to = Math.min(from + blockSize, n);
            float scale = firstLevelScale(k.scaleCodes()[blk], k.secondLevelScales()[blk / c.B1()], k.scaleOffset(), c);
            if (k.kind() == QuantizerKind.NF) {
                for (int j = from; j < to; j++) out[j] = nfValue(nfLevels, codes[j] & 0xFF, scale);
            } else {
                float step = intStep(scale, c);
                int zero = k.zeroPoints()[blk] & 0xFF;
                for (int j = from; j < to; j++) out[j] = intValue(codes[j] & 0xFF, zero, step);
            }
        }
        return out;
    }

    /** Dequantized first-level statistic: code / (2^b0 - 1) * s1 + offset. The one place this is computed. */
    private static float firstLevelScale(byte code, int secondLevelPattern, float offset, QuantConfig c) {
        float s1 = c.b1().decode(secondLevelPattern);
        return (code & 0xFF) / (float) ((1 << c.b0()) - 1) * s1 + offset;
    }

    /** INT grid step: the block range spread over 2^b - 1 intervals. */
    private static float intStep(float range, QuantConfig c) {
        return range / ((1 << c.b()) - 1);
    }

    private static int clamp(int v, int max) {
        return Math.max(0, Math.min(max, v));
    }

    private static int zeroIndex(float[] levels) {
        for (int i = 0; i < levels.length; i++) if (levels[i] == 0f) return i;
        throw new IllegalStateException("codebook without an exact zero");
    }

    private static void checkInput(float[] w, int rows, int cols, QuantConfig c, QuantizerKind kind) {
        if (c == null) throw new IllegalArgumentException("null argument");
        checkWeights(w, rows, cols, kind);
    }

    /** Shape and finiteness of the weights: what every option of one matrix shares. */
    private static void checkWeights(float[] w, int rows, int cols, QuantizerKind kind) {
        if (w == null || kind == null) throw new IllegalArgumentException("null argument");
        if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("shape must be positive: " + rows + "x" + cols);
        if ((long) rows * cols != w.length) {
            throw new IllegalArgumentException("weights length " + w.length + " != " + rows + "x" + cols);
        }
        for (float v : w) {
            if (!Float.isFinite(v)) throw new IllegalArgumentException("weights must be finite, found " + v);
        }
    }
}
