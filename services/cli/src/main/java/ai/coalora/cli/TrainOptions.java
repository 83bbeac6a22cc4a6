package ai.coalora.cli;

import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.train.FineTuneSettings;
import picocli.CommandLine.Option;

/** Fine-tuning hyper-parameters shared by the training commands. */
public final class TrainOptions {
    private static final FineTuneSettings D = FineTuneSettings.defaults();

    @Option(names = "--epochs", description = "Training epochs (default: 3).")
    int epochs = D.epochs();

    @Option(names = "--batch-size", description = "Examples per step (default: 32).")
    int batchSize = D.batchSize();

    @Option(names = "--lr", description = "Peak AdamW learning rate (default: 1e-3).")
    float learningRate = D.learningRate();

    @Option(names = "--rank", description = "LoRA rank r (default: 16).")
    int rank = D.lora().rank();

    @Option(names = "--alpha", description = "LoRA alpha; the update is scaled by alpha/r (default: 32).")
    float alpha = D.lora().alpha();

    @Option(names = "--seed", description = "Seed of initialisation and shuffling (default: 42).")
    long seed = D.seed();

    FineTuneSettings settings() {
        return new FineTuneSettings(
                epochs, batchSize, learningRate, D.weightDecay(), D.clipNorm(), seed, new LoraSpec(rank, alpha));
    }
}
