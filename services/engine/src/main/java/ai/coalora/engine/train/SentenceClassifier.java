package ai.coalora.engine.train;

import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.TokenBatch;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** Encoder (on some base weights, with an optional adapter) -> mean pooling -> linear head. */
public record SentenceClassifier(BertEncoder encoder, ClassifierHead head) {

    public NDArray logits(TokenBatch batch, BaseWeights base, Adapter adapter) {
        NDArray hidden = encoder.forward(batch, base, adapter);
        return head.logits(BertEncoder.meanPool(hidden, batch.mask()));
    }

    /** Mean cross-entropy of the logits against integer labels. */
    public static NDArray crossEntropy(NDArray logits, int[] labels) {
        NDManager scope = logits.getManager();
        NDArray oneHot = scope.create(labels).oneHot((int) logits.getShape().get(1));
        return logits.logSoftmax(-1).mul(oneHot).sum(new int[] {1}).neg().mean();
    }
}
