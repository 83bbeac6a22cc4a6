package ai.coalora.engine.objective;

import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.TokenBatch;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Random;

/**
 * Sentence classification as a CoA-LoRA objective: the classifier's cross-entropy on length-bucketed batches
 * of the training split; the search measures configurations by the loss on a fixed evaluation batch.
 */
public record ClassificationObjective(SentenceClassifier classifier, EncodedExamples train, EncodedExamples evaluation)
        implements TrainingObjective {

    @Override
    public int size() {
        return train.size();
    }

    @Override
    public List<int[]> batches(int batchSize, Random random) {
        return FineTuner.lengthBucketedBatches(train, batchSize, random);
    }

    @Override
    public NDArray loss(int[] batch, BaseWeights base, Adapter adapter, NDManager scope) {
        TokenBatch tokens = TokenBatch.of(train.ids(batch, 0, batch.length), scope);
        return SentenceClassifier.crossEntropy(
                classifier.logits(tokens, base, adapter), train.labels(batch, 0, batch.length));
    }

    @Override
    public long tokens(int[] batch) {
        long n = 0;
        for (int i : batch) n += train.ids().get(i).length;
        return n;
    }

    @Override
    public List<NDArray> extraParameters() {
        return classifier.head().parameters();
    }

    @Override
    public double evaluationLoss(BaseWeights base, Adapter adapter) {
        return FineTuner.evaluate(classifier, base, adapter, evaluation, null).loss();
    }

    @Override
    public NDManager manager() {
        return classifier.encoder().manager();
    }
}
