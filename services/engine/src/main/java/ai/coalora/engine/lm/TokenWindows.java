package ai.coalora.engine.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * Texts as a language model trains on them: each text encoded, followed by {@code <|endoftext|>}, all concatenated
 * and cut into non-overlapping windows of {@code seqLen} tokens (the tail that does not fill a window is dropped).
 */
public record TokenWindows(int[] ids, int seqLen) {

    public TokenWindows {
        if (seqLen < 2) throw new IllegalArgumentException("a window needs at least 2 tokens, got " + seqLen);
        if (ids.length < seqLen)
            throw new IllegalArgumentException(ids.length + " tokens do not fill one window of " + seqLen);
    }

    /** The windows of {@code texts}; at most {@code maxWindows} of them (0: all). */
    public static TokenWindows of(BpeTokenizer tokenizer, List<String> texts, int seqLen, int maxWindows) {
        int endOfText = tokenizer.id(Pretraining.END_OF_TEXT);
        int limit = maxWindows > 0 ? maxWindows * seqLen : Integer.MAX_VALUE;
        int[] all = new int[0];
        int n = 0;
        for (String text : texts) {
            if (n >= limit) break;
            int[] ids = tokenizer.encode(text);
            if (n + ids.length + 1 > all.length) all = Arrays.copyOf(all, Math.max(2 * all.length, n + ids.length + 1));
            System.arraycopy(ids, 0, all, n, ids.length);
            n += ids.length;
            all[n++] = endOfText;
        }
        int windows = Math.min(n, limit) / seqLen;
        if (windows < 1)
            throw new IllegalArgumentException("texts give " + n + " tokens, fewer than one window of " + seqLen);
        return new TokenWindows(Arrays.copyOf(all, windows * seqLen), seqLen);
    }

    public int count() {
        return ids.length / seqLen;
    }

    public long tokens() {
        return ids.length;
    }

    /** The windows {@code windows} as an int64 (n x seqLen) array in {@code manager}. */
    public NDArray batch(int[] windows, NDManager manager) {
        long[] out = new long[windows.length * seqLen];
        for (int b = 0; b < windows.length; b++) {
            int from = windows[b] * seqLen;
            for (int i = 0; i < seqLen; i++) out[b * seqLen + i] = ids[from + i];
        }
        return manager.create(out, new Shape(windows.length, seqLen));
    }

    /** Windows from..to-1 in order. */
    public NDArray batch(int from, int to, NDManager manager) {
        int[] w = new int[to - from];
        for (int i = 0; i < w.length; i++) w[i] = from + i;
        return batch(w, manager);
    }
}
