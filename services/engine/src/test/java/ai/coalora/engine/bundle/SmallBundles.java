package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.train.FineTuneSettings;

/** The small sentiment task and one-epoch settings the encoder bundle tests train on. */
final class SmallBundles {
    /** The max length the small bundles encode to. */
    static final int MAX_LENGTH = 40;

    private SmallBundles() {}

    /**
     * The first 256 training sentences in order (the calibration of every small bundle, so the error tables are cached),
     * the first {@code validation} validation and {@code test} test sentences.
     */
    static TaskData sentiment(int validation, int test) {
        TaskData all = Tasks.builtin("sentiment");
        return new TaskData(
                all.name(),
                all.labels(),
                all.train().subList(0, 256),
                all.validation().subList(0, validation),
                all.test().subList(0, test),
                all.sourceSha256());
    }

    /** One epoch, batch and clipping as the defaults, LoRA r = 16, alpha = 32, 2 configurations per step. */
    static CoaSettings settings(float learningRate, float weightDecay) {
        FineTuneSettings d = FineTuneSettings.defaults();
        return new CoaSettings(
                new FineTuneSettings(
                        1, d.batchSize(), learningRate, weightDecay, d.clipNorm(), d.seed(), new LoraSpec(16, 32)),
                2,
                true,
                CoaSettings.DEFAULT_CACHE_CAPACITY);
    }
}
