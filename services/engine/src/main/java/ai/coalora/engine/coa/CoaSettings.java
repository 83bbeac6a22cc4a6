package ai.coalora.engine.coa;

import ai.coalora.engine.train.FineTuneSettings;

/**
 * CoA-LoRA training: the usual fine-tuning settings (epochs, batch, AdamW, clipping, LoRA spec), how many
 * configurations each step trains on (the method: 2 or more, gradients accumulated), whether M is used
 * (false trains Shared-LoRA), how many configurations' quantized weights stay cached, and how the
 * configuration-aware network is built and trained ({@link ThetaSettings}).
 */
public record CoaSettings(
        FineTuneSettings training, int configsPerStep, boolean configAware, int cacheCapacity, ThetaSettings theta) {

    /**
     * Quantized weight sets kept (about 42 MB each for MiniLM, 5.4 GB in all): more than a training set
     * plus one epoch's candidates (about 75), because an LRU cache smaller than a cyclic access pattern
     * misses on every access.
     */
    public static final int DEFAULT_CACHE_CAPACITY = 128;

    public static CoaSettings defaults() {
        return new CoaSettings(FineTuneSettings.defaults(), 2, true, DEFAULT_CACHE_CAPACITY);
    }

    public CoaSettings(FineTuneSettings training, int configsPerStep, boolean configAware, int cacheCapacity) {
        this(training, configsPerStep, configAware, cacheCapacity, ThetaSettings.defaults());
    }

    public CoaSettings {
        if (theta == null) throw new IllegalArgumentException("theta settings must be given");
        if (training == null || training.lora() == null)
            throw new IllegalArgumentException("CoA-LoRA needs a LoRA spec");
        if (configsPerStep < 1)
            throw new IllegalArgumentException("configurations per step must be >= 1, got " + configsPerStep);
        if (cacheCapacity < configsPerStep) {
            throw new IllegalArgumentException(
                    "cache capacity " + cacheCapacity + " must hold a step's " + configsPerStep + " configurations");
        }
    }

    public CoaSettings withConfigAware(boolean on) {
        return new CoaSettings(training, configsPerStep, on, cacheCapacity, theta);
    }

    public CoaSettings withTraining(FineTuneSettings t) {
        return new CoaSettings(t, configsPerStep, configAware, cacheCapacity, theta);
    }

    public CoaSettings withTheta(ThetaSettings t) {
        return new CoaSettings(training, configsPerStep, configAware, cacheCapacity, t);
    }

    /** The network's settings when configuration-aware; null for Shared-LoRA. */
    public ThetaSettings networkOrNull() {
        return configAware ? theta : null;
    }
}
