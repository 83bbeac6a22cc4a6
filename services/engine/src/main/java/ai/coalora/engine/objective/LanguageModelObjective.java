package ai.coalora.engine.objective;

import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.lm.LanguageModelLoss;
import ai.coalora.engine.lm.TokenWindows;
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
 * Perplexity is exp of that loss ({@link LanguageModelLoss}).
 */
public record LanguageModelObjective(LlamaDecoder decoder, TokenWindows train, TokenWindows evaluation)
        implements TrainingObjective {

    @Override
    public int size() {
        return train.count();
    }

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
    public long tokens(int[] batch) {
        return (long) batch.length * train.seqLen();
    }

    @Override
    public List<NDArray> extraParameters() {
        return List.of();
    }

    @Override
    public double evaluationLoss(BaseWeights base, Adapter adapter) {
        return LanguageModelLoss.meanLoss(decoder, evaluation, base, adapter);
    }

    @Override
    public NDManager manager() {
        return decoder.manager();
    }
}
