package ai.coalora.engine.model;

import ai.djl.ndarray.NDArray;

/**
 * Something added to the output of every quantized linear layer: a LoRA adapter, or an observer that
 * records the layer inputs for calibration. {@code delta} returns null to add nothing.
 */
@FunctionalInterface
public interface Adapter {
    NDArray delta(LinearId id, NDArray input);
}
