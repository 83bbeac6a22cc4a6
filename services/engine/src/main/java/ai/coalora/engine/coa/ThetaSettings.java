package ai.coalora.engine.coa;

/**
 * How the configuration-aware network (theta) is built and trained, apart from the shared LoRA:
 *
 * @param learningRate peak learning rate of theta; null: the LoRA's. Theta's gradient is proportional to B, which
 *                     starts at zero, so its early steps are mostly noise that a shared Adam step amplifies
 * @param weightDecay  decoupled weight decay of theta's two weight matrices; embeddings, norms, biases and the gain
 *                     are never decayed (decay alone would move the last layer and fake learning)
 * @param gainInit     initial value of the learnable gain g in {@code M = I + g U}
 * @param inputs       what the network reads of a matrix's configuration
 * @param startFraction fraction of training steps before theta starts learning (0: from the first step); until then
 *                     M = I and the steps train the shared LoRA alone, so theta fits corrections to a LoRA that
 *                     already works instead of to B = 0
 */
public record ThetaSettings(
        Float learningRate, float weightDecay, float gainInit, ConfigInputs inputs, double startFraction) {

    /** The network as the method describes it: categorical fields, trained with the LoRA from the first step. */
    public static ThetaSettings defaults() {
        return new ThetaSettings(null, 0.01f, 1f, ConfigInputs.FIELDS, 0);
    }

    public ThetaSettings {
        if (learningRate != null && (!(learningRate > 0) || Float.isInfinite(learningRate))) {
            throw new IllegalArgumentException("theta learning rate must be a positive number, got " + learningRate);
        }
        if (!(weightDecay >= 0) || Float.isInfinite(weightDecay))
            throw new IllegalArgumentException("theta weight decay must be >= 0");
        if (!Float.isFinite(gainInit)) throw new IllegalArgumentException("theta gain must be finite");
        if (inputs == null) throw new IllegalArgumentException("theta inputs must be given");
        if (!(startFraction >= 0 && startFraction < 1))
            throw new IllegalArgumentException("theta start fraction must be in [0, 1)");
    }

    /** Theta's learning rate when the LoRA's is {@code loraRate}. */
    public float learningRate(float loraRate) {
        return learningRate == null ? loraRate : learningRate;
    }

    public ThetaSettings withLearningRate(Float lr) {
        return new ThetaSettings(lr, weightDecay, gainInit, inputs, startFraction);
    }

    public ThetaSettings withGainInit(float g) {
        return new ThetaSettings(learningRate, weightDecay, g, inputs, startFraction);
    }

    public ThetaSettings withInputs(ConfigInputs i) {
        return new ThetaSettings(learningRate, weightDecay, gainInit, i, startFraction);
    }

    public ThetaSettings withStartFraction(double f) {
        return new ThetaSettings(learningRate, weightDecay, gainInit, inputs, f);
    }
}
