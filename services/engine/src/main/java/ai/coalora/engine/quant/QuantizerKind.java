package ai.coalora.engine.quant;

import java.util.Locale;

/**
 * The weight quantizer applied inside each first-level block.
 *
 * <ul>
 *   <li>{@link #NF}: NormalFloat-b codebook scaled by the block absmax. Stores exactly
 *       {@link QuantConfig#bitsPerWeight()} bits per weight (when the block counts divide evenly).
 *   <li>{@link #INT}: uniform asymmetric b-bit grid over the block's [min, max] (the range is widened to
 *       contain 0 so that zero stays exact). The first-level statistic is the range {@code max - min}, double
 *       quantized exactly like NF's absmax; in addition each block stores a b-bit integer zero point, so the real
 *       storage is {@code b/B0} bits per weight more than the configuration's nominal bits. Planning and reporting
 *       still use the nominal {@link QuantConfig#bitsPerWeight()} (one definition everywhere).
 * </ul>
 */
public enum QuantizerKind {
    NF,
    INT;

    /** Real stored bits per weight (excluding the per-matrix header) for a matrix whose counts divide evenly. */
    public double storedBitsPerWeight(QuantConfig c) {
        return this == INT ? c.bitsPerWeight() + (double) c.b() / c.B0() : c.bitsPerWeight();
    }

    /** "nf" or "int", as used in JSON. */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static QuantizerKind fromJsonName(String s) {
        for (QuantizerKind k : values()) {
            if (k.jsonName().equalsIgnoreCase(s)) return k;
        }
        throw new IllegalArgumentException("unknown quantizer '" + s + "' (expected nf or int)");
    }
}
