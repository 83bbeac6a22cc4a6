package ai.coalora.fleet.sim;

import ai.coalora.engine.data.Example;
import ai.coalora.fleet.planning.QualityMeasure;
import java.util.List;

/**
 * A verified package loaded on the runtime a device runs it with: the Java runtime for packed packages
 * ({@link JavaRuntimePackage}), llama.cpp for GGUF ones ({@link LlamaCppPackage}). Loaded once per package in an agents
 * process and shared by the devices that run it (the bytes are identical); each device measures on its own shard.
 */
interface RunningPackage extends AutoCloseable {
    /**
     * What a device measured on its held-out shard, in the version's quality measure.
     *
     * @param examples        examples classified, or token windows scored
     * @param msPerExample    milliseconds per example or window
     * @param memoryBytes     what the package holds in the device's memory
     * @param tokensPerSecond decode speed of a sample (llama.cpp), null for a classifier
     * @param sample          a short generation from the device's own prompt (llama.cpp), null for a classifier
     * @param summary         what the device did, for its status report
     */
    record Measurement(
            QualityMeasure measure,
            double value,
            int examples,
            double msPerExample,
            long memoryBytes,
            Double tokensPerSecond,
            String sample,
            String summary) {}

    /** Measures on {@code shard}; with {@code drift} the data the device sees has shifted away from what it was trained for. */
    Measurement measure(String device, List<Example> shard, boolean drift);

    @Override
    void close();
}
