package ai.coalora.engine.gguf;

import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;

/**
 * How a CoA-LoRA configuration becomes per-tensor GGUF types. Only the weight bit-width {@code b} of a
 * {@link QuantConfig} carries over: GGUF types have fixed scale layouts, so {@code b0}, {@code b1}, {@code B0} and
 * {@code B1} are not representable and the real cost is the GGUF type's own bits per weight (scales included):
 *
 * <pre>
 *  b | K_QUANTS          | LEGACY (runtimes with only Q4_0/Q8_0)
 *  2 | Q2_K  2.625 bits  | Q4_0 4.5 bits
 *  3 | Q3_K  3.4375 bits | Q4_0 4.5 bits
 *  4 | Q4_K  4.5 bits    | Q4_0 4.5 bits
 *  8 | Q8_0  8.5 bits    | Q8_0 8.5 bits
 * </pre>
 *
 * <p>Row lengths: a ggml row is the innermost dimension, i.e. the matrix's {@code cols} (in features). The
 * K-quants need rows that are a multiple of 256, Q4_0/Q8_0 of 32. When the row does not divide, the matrix falls
 * back to the 32-weight legacy type with at least as many bits (Q4_0 for a type of at most 4.5 bits, else Q8_0),
 * and when 32 does not divide either, to F16. A fallback never lowers precision, and its extra bits are counted by
 * {@link #bitsPerWeight(ModelQuantConfig)}. (llama.cpp's own quantizer picks IQ4_NL or Q5_0 in that case; we pick
 * Q4_0 because every runtime has it.)
 */
public enum GgufTypeMapping implements GgufTypes {
    /** 2 → Q2_K, 3 → Q3_K, 4 → Q4_K, 8 → Q8_0. */
    K_QUANTS,
    /** 2, 3, 4 → Q4_0; 8 → Q8_0: the legacy 32-weight types every GGUF runtime supports. */
    LEGACY;

    /** The type for {@code b} bits when rows divide (no fallback). */
    public GgufType nominal(int b) {
        return switch (b) {
            case 2 -> this == K_QUANTS ? GgufType.Q2_K : GgufType.Q4_0;
            case 3 -> this == K_QUANTS ? GgufType.Q3_K : GgufType.Q4_0;
            case 4 -> this == K_QUANTS ? GgufType.Q4_K : GgufType.Q4_0;
            case 8 -> GgufType.Q8_0;
            default ->
                throw new IllegalArgumentException(
                        "weight bits must be one of " + QuantConfig.WEIGHT_BITS + ", got " + b);
        };
    }

    /** The type for {@code b} bits and rows of {@code rowLength} weights, with the documented fallback. */
    @Override
    public GgufType typeFor(int b, long rowLength) {
        return fallback(nominal(b), rowLength);
    }

    /** {@code type} when its blocks divide rows of {@code rowLength}; else Q4_0 / Q8_0 (at least as many bits), else F16. */
    public static GgufType fallback(GgufType type, long rowLength) {
        if (rowLength <= 0) throw new IllegalArgumentException("row length must be positive, got " + rowLength);
        if (rowLength % type.blockSize == 0) return type;
        GgufType legacy = type.bitsPerWeight() <= GgufType.Q4_0.bitsPerWeight() ? GgufType.Q4_0 : GgufType.Q8_0;
        return rowLength % legacy.blockSize == 0 ? legacy : GgufType.F16;
    }
}
