package ai.coalora.engine.train;

import ai.coalora.engine.lora.LoraSpec;

/**
 * How to fine-tune: epochs, batch size, AdamW learning rate (linear warm-up over the first 6% of steps,
 * then linear decay), weight decay, gradient clipping, seed, and the LoRA spec (null: train only the head).
 */
public record FineTuneSettings(
        int epochs, int batchSize, float learningRate, float weightDecay, float clipNorm, long seed, LoraSpec lora) {

    public static FineTuneSettings defaults() {
        return new FineTuneSettings(3, 32, 1e-3f, 0.01f, 1.0f, 42, new LoraSpec(16, 32));
    }

    public FineTuneSettings {
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1");
        if (!(learningRate > 0) || Float.isInfinite(learningRate))
            throw new IllegalArgumentException("learning rate must be a positive number");
        if (!(weightDecay >= 0) || Float.isInfinite(weightDecay))
            throw new IllegalArgumentException("weight decay must be >= 0");
        if (!(clipNorm > 0) || Float.isInfinite(clipNorm))
            throw new IllegalArgumentException("clip norm must be a positive number");
    }

    public FineTuneSettings withLora(LoraSpec spec) {
        return new FineTuneSettings(epochs, batchSize, learningRate, weightDecay, clipNorm, seed, spec);
    }

    public FineTuneSettings withEpochs(int n) {
        return new FineTuneSettings(n, batchSize, learningRate, weightDecay, clipNorm, seed, lora);
    }

    public FineTuneSettings withBatchSize(int n) {
        return new FineTuneSettings(epochs, n, learningRate, weightDecay, clipNorm, seed, lora);
    }

    /** Learning rate at step {@code step} of {@code total}: linear warm-up, then linear decay to zero. */
    public float learningRateAt(int step, int total) {
        int warmup = Math.max(1, (int) Math.ceil(total * 0.06));
        if (step < warmup) return learningRate * (step + 1) / warmup;
        return learningRate * Math.max(0f, (float) (total - step) / Math.max(1, total - warmup));
    }
}
