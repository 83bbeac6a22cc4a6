package ai.coalora.engine.gguf;

import java.util.Arrays;
import java.util.Locale;

/**
 * Tensor element types of GGUF files: ggml's {@code enum ggml_type}, with the ids, block sizes and block byte
 * sizes that ggml publishes ({@code ggml.h}, {@code ggml-common.h}). A tensor of {@code n} elements of a type
 * with block size {@code B} and {@code S} bytes per block takes {@code n / B * S} bytes, and its innermost
 * dimension (the row length) must be a multiple of {@code B}.
 *
 * <p>Every type is listed so that the reader can take any llama.cpp file apart; {@link #hasCodec()} types can
 * also be quantized and dequantized here (pure Java, ggml's block layouts bit for bit: see {@link GgmlQuants}).
 * Ids 4, 5, 31–33 and 36–38 belonged to types ggml has removed and are unknown here, as they are to ggml.
 */
public enum GgufType {
    F32(0, 1, 4, true),
    F16(1, 1, 2, true),
    /** 32 weights: fp16 d, 16 bytes of 4-bit quants; x = d * (q - 8). */
    Q4_0(2, 32, 18, true),
    Q4_1(3, 32, 20, false),
    Q5_0(6, 32, 22, false),
    Q5_1(7, 32, 24, false),
    /** 32 weights: fp16 d, 32 int8 quants; x = d * q. */
    Q8_0(8, 32, 34, true),
    Q8_1(9, 32, 36, false),
    /** 256 weights: 16 bytes of 4-bit scale|min, 64 bytes of 2-bit quants, fp16 d, fp16 dmin. */
    Q2_K(10, 256, 84, true),
    /** 256 weights: 32 bytes high bits, 64 bytes low 2 bits, 12 bytes of 6-bit scales, fp16 d. */
    Q3_K(11, 256, 110, true),
    /** 256 weights: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of 4-bit quants. */
    Q4_K(12, 256, 144, true),
    /** 256 weights: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, 32 bytes high bits, 128 bytes low 4 bits. */
    Q5_K(13, 256, 176, true),
    /** 256 weights: 128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8 scales, fp16 d. */
    Q6_K(14, 256, 210, true),
    /** ggml's intermediate type for dot products (fp32 d, 256 int8, 16 int16 sums); not a storage type. */
    Q8_K(15, 256, 292, false),
    IQ2_XXS(16, 256, 66, false),
    IQ2_XS(17, 256, 74, false),
    IQ3_XXS(18, 256, 98, false),
    IQ1_S(19, 256, 50, false),
    IQ4_NL(20, 32, 18, false),
    IQ3_S(21, 256, 110, false),
    IQ2_S(22, 256, 82, false),
    IQ4_XS(23, 256, 136, false),
    I8(24, 1, 1, false),
    I16(25, 1, 2, false),
    I32(26, 1, 4, false),
    I64(27, 1, 8, false),
    F64(28, 1, 8, false),
    IQ1_M(29, 256, 56, false),
    BF16(30, 1, 2, true),
    TQ1_0(34, 256, 54, false),
    TQ2_0(35, 256, 66, false),
    MXFP4(39, 32, 17, false);

    /** ggml's type id, as stored in a GGUF tensor info. */
    public final int id;
    /** Weights per block; a tensor's row length must be a multiple of it. */
    public final int blockSize;
    /** Bytes of one block. */
    public final int bytesPerBlock;

    private final boolean codec;

    private static final GgufType[] BY_ID = new GgufType[64];

    static {
        for (GgufType t : values()) BY_ID[t.id] = t;
    }

    GgufType(int id, int blockSize, int bytesPerBlock, boolean codec) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
        this.codec = codec;
    }

    /** The type with this ggml id; an IllegalArgumentException for ids ggml does not (or no longer) define. */
    public static GgufType fromId(long id) {
        GgufType t = id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
        if (t == null) throw new IllegalArgumentException("unknown ggml type id " + id);
        return t;
    }

    /** The type named like ggml names it ("q4_K", "Q4_K", "f16" ...), case-insensitive. */
    public static GgufType fromName(String name) {
        for (GgufType t : values()) if (t.name().equalsIgnoreCase(name)) return t;
        throw new IllegalArgumentException(
                "unknown ggml type '" + name + "' (known: " + Arrays.toString(values()) + ")");
    }

    /** Storage bits per weight, exactly: {@code 8 * bytesPerBlock / blockSize} (e.g. Q4_K 144*8/256 = 4.5). */
    public double bitsPerWeight() {
        return 8.0 * bytesPerBlock / blockSize;
    }

    /**
     * Bits per weight in units of 1/{@link ai.coalora.engine.quant.QuantConfig#BIT_UNITS_PER_BIT} bit, the unit the
     * planner adds costs in: an exact integer for every type (block sizes are 1, 32 or 256).
     */
    public long bitUnitsPerWeight() {
        return 8L * bytesPerBlock * ai.coalora.engine.quant.QuantConfig.BIT_UNITS_PER_BIT / blockSize;
    }

    /** Whether {@link #quantize} and {@link #dequantize} are implemented for this type. */
    public boolean hasCodec() {
        return codec;
    }

    /** Bytes of {@code elements} weights; an IllegalArgumentException when not a whole number of blocks. */
    public long byteSize(long elements) {
        if (elements < 0 || elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    this + ": " + elements + " elements are not a whole number of " + blockSize + "-weight blocks");
        }
        return Math.multiplyExact(elements / blockSize, (long) bytesPerBlock);
    }

    /**
     * ggml's bytes for these values. The length must be a multiple of {@link #blockSize}; values must be finite
     * for the block types (F32/F16/BF16 keep infinities and NaN as such formats do).
     */
    public byte[] quantize(float[] values) {
        requireCodec();
        byte[] out = new byte[Math.toIntExact(byteSize(values.length))];
        GgmlQuants.quantize(this, values, out);
        return out;
    }

    /** The values ggml would decode from these bytes (a whole number of blocks). */
    public float[] dequantize(byte[] data) {
        requireCodec();
        if (data.length % bytesPerBlock != 0) {
            throw new IllegalArgumentException(
                    this + ": " + data.length + " bytes are not a whole number of " + bytesPerBlock + "-byte blocks");
        }
        float[] out = new float[Math.toIntExact((long) data.length / bytesPerBlock * blockSize)];
        GgmlQuants.dequantize(this, data, out);
        return out;
    }

    /** Lower-case ggml name with the K-quant suffix upper-case, e.g. "q4_K", "f16" (as llama.cpp prints them). */
    public String ggmlName() {
        String lower = name().toLowerCase(Locale.ROOT);
        return lower.endsWith("_k") ? lower.substring(0, lower.length() - 1) + "K" : lower;
    }

    private void requireCodec() {
        if (!codec)
            throw new UnsupportedOperationException(
                    this + ": no quantize/dequantize implemented here (only raw bytes)");
    }
}
