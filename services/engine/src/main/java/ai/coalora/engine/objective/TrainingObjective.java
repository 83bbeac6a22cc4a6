package ai.coalora.engine.objective;

import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BaseWeights;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Random;

/**
 * What CoA-LoRA training minimises for one quantization configuration: a task's mean loss on the configuration's
 * quantized base weights with an adapter. Sentence classification ({@link ClassificationObjective})
 * and language modelling ({@link LanguageModelObjective}) are the two; the trainer, the
 * configuration search and the benchmarks only see this.
 */
public interface TrainingObjective {

    /** Training examples: sentences, or token windows of a language model. */
    int size();

    /** One epoch's mini-batches, as example indices; every example once. */
    List<int[]> batches(int batchSize, Random random);

    /** The batch's mean loss, differentiable, with every intermediate in {@code scope} (the step's manager). */
    NDArray loss(int[] batch, BaseWeights base, Adapter adapter, NDManager scope);

    /** Real (unpadded) tokens of the batch: the unit of training throughput. */
    long tokens(int[] batch);

    /** Trained jointly with the adapter (a classifier's head); empty for a language model. */
    List<NDArray> extraParameters();

    /** Mean loss on the fixed evaluation set with which the search measures configurations (no gradient). */
    double evaluationLoss(BaseWeights base, Adapter adapter);

    /** The manager training works under (each step in a sub-manager of it). */
    NDManager manager();
}
