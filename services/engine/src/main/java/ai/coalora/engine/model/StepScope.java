package ai.coalora.engine.model;

import ai.djl.ndarray.NDArray;

/**
 * DJL puts the result of an operation in the manager of its first operand. When that operand is a
 * long-lived parameter (a weight's transpose, an embedding lookup), the result would live as long as
 * the parameter: one leaked native handle per step. This moves such results into the step's manager.
 */
public final class StepScope {
    private StepScope() {}

    /** {@code result}, now owned by the manager of {@code stepArray} (an activation of the current step). */
    public static NDArray own(NDArray result, NDArray stepArray) {
        result.attach(stepArray.getManager());
        return result;
    }
}
