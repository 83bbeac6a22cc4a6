package ai.coalora.engine.quant;

import java.util.Locale;

/**
 * Storage format of the second-level (per group of first-level scales) quantization scale: the {@code b1}
 * field of a {@link QuantConfig}. Values are kept as raw bit patterns ({@link #encode}/{@link #decode}) so that
 * the packed matrix stores exactly {@link #bits()} bits per scale, and {@link #round} emulates that storage.
 */
public enum ScaleType {
    BF16(16),
    FP16(16),
    FP32(32);

    private final int bits;

    ScaleType(int bits) {
        this.bits = bits;
    }

    /** Storage bits of one scale in this format. */
    public int bits() {
        return bits;
    }

    /** The value {@code x} becomes once stored in this format (round to nearest, ties to even). */
    public float round(float x) {
        return decode(encode(x));
    }

    /** Bit pattern (in the low {@link #bits()} bits) of {@code x} stored in this format, rounded to nearest-even. */
    public int encode(float x) {
        return switch (this) {
            case BF16 -> floatToBfloat16(x);
            case FP16 -> floatToHalf(x);
            case FP32 -> Float.floatToRawIntBits(x);
        };
    }

    /** The float value of a bit pattern produced by {@link #encode}. */
    public float decode(int pattern) {
        return switch (this) {
            case BF16 -> Float.intBitsToFloat((pattern & 0xFFFF) << 16);
            case FP16 -> halfToFloat(pattern);
            case FP32 -> Float.intBitsToFloat(pattern);
        };
    }

    /** Largest finite value of this format (used to keep huge scales finite instead of overflowing to inf). */
    public float maxFinite() {
        return switch (this) {
            case BF16 -> Float.intBitsToFloat(0x7F7F0000);
            case FP16 -> 65504f;
            case FP32 -> Float.MAX_VALUE;
        };
    }

    /** Lower-case name used in JSON ("bf16", "fp16", "fp32"). */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Inverse of {@link #jsonName()}, case-insensitive. */
    public static ScaleType fromJsonName(String s) {
        for (ScaleType t : values()) {
            if (t.jsonName().equalsIgnoreCase(s)) return t;
        }
        throw new IllegalArgumentException("unknown scale type '" + s + "' (expected bf16, fp16 or fp32)");
    }

    private static int floatToBfloat16(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) return ((bits >>> 16) | 0x40) & 0xFFFF; // keep it a (quiet) NaN
        int lsb = (bits >>> 16) & 1;
        return ((bits + 0x7FFF + lsb) >>> 16) & 0xFFFF; // carry may round up into the exponent (to inf): correct
    }

    /** IEEE binary32 to binary16 with round-to-nearest-even, including subnormals, overflow and NaN. */
    static int floatToHalf(float x) {
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x7FFFFF;
        if (exp == 0xFF) return sign | 0x7C00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0);
        int halfExp = exp - 127 + 15;
        if (halfExp >= 0x1F) return sign | 0x7C00;
        if (halfExp <= 0) {
            // Result is a half subnormal m * 2^-24 (or zero); m = significand >> shift, rounded.
            int shift = 126 - exp;
            if (shift > 24) return sign; // below half of the smallest subnormal
            int significand = mant | 0x800000;
            int m = significand >>> shift;
            int rem = significand & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (m & 1) != 0)) m++; // m == 0x400 is the smallest normal: fine
            return sign | m;
        }
        int half = sign | (halfExp << 10) | (mant >>> 13);
        int rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) half++; // carry may reach the exponent or inf
        return half;
    }

    static float halfToFloat(int h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0) {
            float v = mant * 0x1p-24f; // exact: subnormal halves are normal floats
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1F) return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
