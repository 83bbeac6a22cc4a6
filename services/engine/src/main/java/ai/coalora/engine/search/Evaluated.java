package ai.coalora.engine.search;

import ai.coalora.engine.quant.ModelQuantConfig;

/**
 * A configuration whose loss was measured for real (f1) together with its exact average bits (f2).
 * The bits are stored, not recomputed, because fronts and segments read them many times; the constructor checks
 * they are the configuration's own so the two can never disagree.
 */
public record Evaluated(ModelQuantConfig config, double loss, double averageBits) {
    public Evaluated {
        if (config == null) throw new IllegalArgumentException("config must not be null");
        if (!Double.isFinite(loss)) throw new IllegalArgumentException("loss must be finite, got " + loss);
        if (averageBits != config.averageBits()) {
            throw new IllegalArgumentException(
                    "averageBits " + averageBits + " is not the configuration's " + config.averageBits());
        }
    }

    /** The usual way to build one: the bits come from the configuration. */
    public static Evaluated of(ModelQuantConfig config, double loss) {
        if (config == null) throw new IllegalArgumentException("config must not be null");
        return new Evaluated(config, loss, config.averageBits());
    }

    public Objectives objectives() {
        return new Objectives(loss, averageBits);
    }
}
