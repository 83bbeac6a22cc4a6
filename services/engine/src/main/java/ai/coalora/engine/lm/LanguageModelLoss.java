package ai.coalora.engine.lm;

import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BaseWeights;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;

/** A decoder's next-token cross entropy on token windows, measured without gradient; perplexity is exp of it. */
public final class LanguageModelLoss {
    /** Windows per forward pass when only measuring. */
    static final int EVALUATION_BATCH = 8;

    private LanguageModelLoss() {}

    /** Each window's mean next-token cross entropy (nats), for paired comparisons over the same windows. */
    public static double[] windowLosses(LlamaDecoder decoder, TokenWindows windows, BaseWeights base, Adapter adapter) {
        double[] out = new double[windows.count()];
        for (int from = 0; from < windows.count(); from += EVALUATION_BATCH) {
            int to = Math.min(windows.count(), from + EVALUATION_BATCH);
            try (NDManager scope = decoder.manager().newSubManager()) {
                float[] losses = decoder.sequenceLosses(windows.batch(from, to, scope), base, adapter);
                for (int i = 0; i < losses.length; i++) out[from + i] = losses[i];
            }
        }
        return out;
    }

    /** Mean next-token cross entropy (nats) of the decoder on {@code base} with {@code adapter} over every window. */
    public static double meanLoss(LlamaDecoder decoder, TokenWindows windows, BaseWeights base, Adapter adapter) {
        // equal-length windows: the mean of the windows' means is the mean over all tokens
        return Arrays.stream(windowLosses(decoder, windows, base, adapter))
                .average()
                .orElseThrow();
    }
}
