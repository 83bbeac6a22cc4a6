package ai.coalora.engine.lm;

import ai.coalora.engine.coa.TrainingObjective;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BaseWeights;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Language modelling as a CoA-LoRA objective: the decoder's mean next-token cross entropy on token windows of
 * the adaptation text; the search measures configurations by the same loss on fixed evaluation windows.
 * Perplexity is exp of that loss.
 */
public record LanguageModelObjective(LlamaDecoder decoder, TokenWindows train, TokenWindows evaluation)
        implements TrainingObjective {

    /** Windows per forward pass when only measuring. */
    static final int EVALUATION_BATCH = 8;

    @Override
    public int size() { return train.count(); }

    @Override
    public List<int[]> batches(int batchSize, Random random) {
        int[] order = new int[train.count()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        List<int[]> batches = new ArrayList<>();
        for (int from = 0; from < order.length; from += batchSize) {
            batches.add(Arrays.copyOfRange(order, from, Math.min(order.length, from + batchSize)));
        }
        return batches;
    }

    @Override
    public NDArray loss(int[] batch, BaseWeights base, Adapter adapter, NDManager scope) {
        return decoder.trainingLoss(train.batch(batch, scope), base, adapter);
    }

    @Override
    public long tokens(int[] batch) { return (long) batch.length * train.seqLen(); }

    @Override
    public List<NDArray> extraParameters() { return List.of(); }

    @Override
    public double evaluationLoss(BaseWeights base, Adapter adapter) {
        return meanLoss(decoder, evaluation, base, adapter);
    }

    @Override
    public NDManager manager() { return decoder.manager(); }

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
        return Arrays.stream(windowLosses(decoder, windows, base, adapter)).average().orElseThrow();
    }
}
