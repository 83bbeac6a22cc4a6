package ai.coalora.engine.quant;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Quantization configuration of one weight matrix (LQ-LoRA's space, see method.md "Quantization configuration").
 *
 * @param b  weight bits: 2, 3, 4 or 8
 * @param b0 bits of the first-level (per-block) scale codes: 2, 3, 4 or 8
 * @param b1 storage type of the second-level scales: bf16, fp16 or fp32
 * @param B0 first-level block size (weights per block): 16, 32 or 64
 * @param B1 second-level block size (first-level scales per group): 16, 64 or 256
 */
public record QuantConfig(int b, int b0, ScaleType b1, int B0, int B1) {
    public static final List<Integer> WEIGHT_BITS = List.of(2, 3, 4, 8);
    public static final List<Integer> SCALE_BITS = List.of(2, 3, 4, 8);
    public static final List<ScaleType> SCALE_TYPES = List.of(ScaleType.BF16, ScaleType.FP16, ScaleType.FP32);
    public static final List<Integer> BLOCK_SIZES = List.of(16, 32, 64);
    public static final List<Integer> GROUP_SIZES = List.of(16, 64, 256);

    /** Fixed layout of {@link #integerOnly(int)}: 8-bit scale codes, fp16 second level, blocks of 64, groups of 256. */
    public static final int INTEGER_ONLY_B0 = 8;

    public static final ScaleType INTEGER_ONLY_B1 = ScaleType.FP16;
    public static final int INTEGER_ONLY_BLOCK = 64;
    public static final int INTEGER_ONLY_GROUP = 256;

    /** Largest B0*B1 (64*256): every bitsPerWeight is a multiple of 1/16384. */
    public static final long BIT_UNITS_PER_BIT = 64L * 256L;

    private static final List<QuantConfig> ALL = enumerate();

    public QuantConfig {
        check("b", b, WEIGHT_BITS);
        check("b0", b0, SCALE_BITS);
        if (b1 == null) throw new IllegalArgumentException("b1 must be one of bf16, fp16, fp32, got null");
        check("B0", B0, BLOCK_SIZES);
        check("B1", B1, GROUP_SIZES);
    }

    private static void check(String field, int value, List<Integer> allowed) {
        if (!allowed.contains(value)) {
            throw new IllegalArgumentException(field + " must be one of " + allowed + ", got " + value);
        }
    }

    /** {@code b + b0/B0 + bits(b1)/(B0*B1)}; exact in double (all terms are dyadic). */
    public double bitsPerWeight() {
        return b + (double) b0 / B0 + (double) b1.bits() / ((double) B0 * B1);
    }

    /**
     * Bits per weight in units of 1/{@link #BIT_UNITS_PER_BIT} bit: an exact integer, since B0*B1 divides
     * {@link #BIT_UNITS_PER_BIT}. Lets planners add costs without rounding.
     */
    public long bitUnitsPerWeight() {
        return (long) b * BIT_UNITS_PER_BIT
                + (long) b0 * (BIT_UNITS_PER_BIT / B0)
                + (long) b1.bits() * (BIT_UNITS_PER_BIT / ((long) B0 * B1));
    }

    /** The 432 options in a fixed order: nested loops over b, b0, b1, B0, B1 (last varies fastest). */
    public static List<QuantConfig> all() {
        return ALL;
    }

    /** Position of this configuration in {@link #all()}. */
    public int index() {
        return (((WEIGHT_BITS.indexOf(b) * SCALE_BITS.size() + SCALE_BITS.indexOf(b0)) * SCALE_TYPES.size()
                                                + SCALE_TYPES.indexOf(b1))
                                        * BLOCK_SIZES.size()
                                + BLOCK_SIZES.indexOf(B0))
                        * GROUP_SIZES.size()
                + GROUP_SIZES.indexOf(B1);
    }

    /** Integer-only variant: just {@code b}, with the fixed layout b0=8, fp16, B0=64, B1=256 (b + 0.126 bits). */
    public static QuantConfig integerOnly(int b) {
        return new QuantConfig(b, INTEGER_ONLY_B0, INTEGER_ONLY_B1, INTEGER_ONLY_BLOCK, INTEGER_ONLY_GROUP);
    }

    private static List<QuantConfig> enumerate() {
        List<QuantConfig> out = new ArrayList<>();
        for (int b : WEIGHT_BITS)
            for (int b0 : SCALE_BITS)
                for (ScaleType b1 : SCALE_TYPES)
                    for (int blk : BLOCK_SIZES)
                        for (int grp : GROUP_SIZES) out.add(new QuantConfig(b, b0, b1, blk, grp));
        return Collections.unmodifiableList(out);
    }

    @Override
    public String toString() {
        return "b=" + b + ",b0=" + b0 + ",b1=" + b1.jsonName() + ",B0=" + B0 + ",B1=" + B1;
    }
}
