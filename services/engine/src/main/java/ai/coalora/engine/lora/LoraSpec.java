package ai.coalora.engine.lora;

/** LoRA hyper-parameters: rank r and alpha; the update is scaled by alpha / r, in this one place. */
public record LoraSpec(int rank, float alpha) {
    public LoraSpec {
        if (rank < 1) throw new IllegalArgumentException("LoRA rank must be >= 1, got " + rank);
        if (!(alpha > 0) || Float.isInfinite(alpha))
            throw new IllegalArgumentException("LoRA alpha must be a positive number, got " + alpha);
    }

    public float scale() {
        return alpha / rank;
    }
}
