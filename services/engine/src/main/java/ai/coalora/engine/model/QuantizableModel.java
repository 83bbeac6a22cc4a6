package ai.coalora.engine.model;

import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * A pretrained model whose linear matrices CoA-LoRA quantizes and adapts: a BERT encoder ({@link BertEncoder})
 * or a Llama / Qwen2 decoder ({@link ai.coalora.engine.decoder.LlamaDecoder}). Quantization, the weight cache,
 * LoRA and the configuration-aware network see a model only through this.
 */
public interface QuantizableModel {

    /** Encoder or decoder: which roles its blocks have and how its weights are named. */
    Role.Architecture architecture();

    int numBlocks();

    /** Every quantizable matrix, block by block, in role order. */
    List<LinearId> linearIds();

    /** {out, in} of a matrix. */
    int[] linearShape(LinearId id);

    /** A matrix's full-precision weights in the HF layout (out x in, row-major). */
    float[] linearWeight(LinearId id);

    /** The full-precision weights as a {@link BaseWeights} (owned by the model: do not close). */
    BaseWeights fullPrecision();

    /** The manager its parameters live in; work for it goes in sub-managers of this one. */
    NDManager manager();
}
