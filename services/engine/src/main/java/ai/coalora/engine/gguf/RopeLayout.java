package ai.coalora.engine.gguf;

/**
 * The two row orders of a rotary-embedded projection (query or key weight, or its bias).
 *
 * <p>Hugging Face's Llama rotates halves ({@code rotate_half}): within each head of {@code d} rows, row {@code i}
 * pairs with row {@code i + d/2}. llama.cpp's "llama" architecture uses ggml's normal RoPE mode, which rotates
 * adjacent pairs: row {@code 2i} pairs with row {@code 2i + 1}. Both rotate pair {@code i} by the same angle
 * {@code pos * theta^(-2i/d)}, so reordering each head's rows as
 *
 * <pre>interleaved[h*d + 2i + s] = halves[h*d + s*d/2 + i]     (s = 0, 1; i &lt; d/2)</pre>
 *
 * makes the two compute the same attention. This is {@code LlamaModel.permute} of llama.cpp's
 * {@code convert_hf_to_gguf.py} ({@code reshape(heads, 2, d/2, ...).swapaxes(1, 2)}), applied with the query head
 * count to q and the key/value head count to k. Only rows move, so it commutes with any per-row quantization and
 * with {@code B A} of a LoRA pair when applied to B's rows. Qwen2 in llama.cpp uses NeoX mode (halves) and needs
 * no reordering.
 */
public final class RopeLayout {
    private RopeLayout() {}

    /** HF's halves layout to llama.cpp's interleaved pairs: rows of a row-major {@code rows x cols} matrix. */
    public static float[] halvesToInterleaved(float[] matrix, int rows, int cols, int heads) {
        return reorder(matrix, rows, cols, heads, true);
    }

    /** The inverse of {@link #halvesToInterleaved}. */
    public static float[] interleavedToHalves(float[] matrix, int rows, int cols, int heads) {
        return reorder(matrix, rows, cols, heads, false);
    }

    private static float[] reorder(float[] matrix, int rows, int cols, int heads, boolean toInterleaved) {
        if (heads < 1 || rows % heads != 0 || (rows / heads) % 2 != 0) {
            throw new IllegalArgumentException(rows + " rows do not split into " + heads + " heads of an even width");
        }
        if (matrix.length != (long) rows * cols) {
            throw new IllegalArgumentException(matrix.length + " values are not " + rows + " x " + cols);
        }
        int d = rows / heads, half = d / 2;
        float[] out = new float[matrix.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int s = 0; s < 2; s++) {
                    int halvesRow = h * d + s * half + i, interleavedRow = h * d + 2 * i + s;
                    int from = toInterleaved ? halvesRow : interleavedRow,
                            to = toInterleaved ? interleavedRow : halvesRow;
                    System.arraycopy(matrix, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }
}
