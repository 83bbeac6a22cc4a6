package ai.coalora.engine.quant;

/**
 * The integer codes of one quantized matrix, before bit packing: what {@link Quantizer#encode} produces, what
 * {@link PackedMatrix} packs and unpacks, and what {@link Quantizer#decode} turns back into floats. Arrays are
 * owned by this object (no defensive copies: package-private plumbing).
 *
 * @param scaleOffset       matrix-wide minimum of the first-level statistic, kept in fp32
 * @param secondLevelScales raw bit patterns (in format {@code config.b1()}) of one scale per group of B1 blocks
 * @param scaleCodes        per block: unsigned b0-bit code of the shifted first-level statistic
 * @param zeroPoints        per block: b-bit integer zero point (INT only; empty for NF)
 * @param weightCodes       per weight (row-major, padding excluded): unsigned b-bit code
 */
record BlockCodes(
        int rows,
        int cols,
        QuantConfig config,
        QuantizerKind kind,
        float scaleOffset,
        int[] secondLevelScales,
        byte[] scaleCodes,
        byte[] zeroPoints,
        byte[] weightCodes) {

    long numel() {
        return (long) rows * cols;
    }

    /** Number of first-level blocks: ceil(numel / B0); the last one is zero-padded. */
    static int blockCount(long numel, QuantConfig c) {
        return (int) ((numel + c.B0() - 1) / c.B0());
    }

    /** Number of second-level groups: ceil(blocks / B1). */
    static int groupCount(int blocks, QuantConfig c) {
        return (blocks + c.B1() - 1) / c.B1();
    }
}
