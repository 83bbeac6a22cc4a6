package ai.coalora.engine.train;

import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.StepScope;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Random;

/** Classification = mean-pooled sentence embedding -> one linear layer (labels x hidden). Full precision. */
public final class ClassifierHead implements AutoCloseable {
    private final NDManager manager;
    private final NDArray weight;
    private final NDArray bias;

    public ClassifierHead(int hidden, int labels, long seed, NDManager parent) {
        manager = parent.newSubManager();
        Random random = new Random(seed);
        float[] w = new float[labels * hidden];
        for (int i = 0; i < w.length; i++) w[i] = (float) (random.nextGaussian() * 0.02);
        weight = LoraAdapter.trainable(manager.create(w, new Shape(labels, hidden)));
        bias = LoraAdapter.trainable(manager.zeros(new Shape(labels)));
    }

    /** A head with given values (from a bundle): weight is labels x hidden, row-major. */
    public ClassifierHead(int hidden, int labels, float[] weightValues, float[] biasValues, NDManager parent) {
        if (weightValues.length != labels * hidden || biasValues.length != labels) {
            throw new IllegalArgumentException("classifier head: expected " + labels + " x " + hidden + " weights and "
                    + labels + " biases, got " + weightValues.length + " and " + biasValues.length);
        }
        manager = parent.newSubManager();
        weight = LoraAdapter.trainable(manager.create(weightValues, new Shape(labels, hidden)));
        bias = LoraAdapter.trainable(manager.create(biasValues, new Shape(labels)));
    }

    public NDArray weight() {
        return weight;
    }

    public NDArray bias() {
        return bias;
    }

    public NDArray logits(NDArray sentenceEmbeddings) {
        return sentenceEmbeddings
                .matMul(StepScope.own(weight.transpose(), sentenceEmbeddings))
                .add(bias);
    }

    public List<NDArray> parameters() {
        return List.of(weight, bias);
    }

    @Override
    public void close() {
        manager.close();
    }
}
