package ai.coalora.engine.search;

import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;

/**
 * The GP's input encoding of a whole-model configuration: one feature per matrix, its bits per weight mapped
 * linearly from the option range [2.03, 8.63] to [0, 1].
 *
 * <p>Why bits per weight: it orders a matrix's options by precision (b dominates, the scale fields refine it), and
 * the loss grows smoothly as precision drops, so a stationary kernel fits it. Every coordinate step of the search
 * moves exactly one feature, by an amount proportional to the bits it costs, so the GP sees every step (except
 * bf16 <-> fp16, which costs nothing and which this encoding cannot tell apart). One feature per matrix keeps the
 * dimension at 36 for the model; with one shared length-scale, 50-300 points suffice to learn the near-additive
 * trend plus local corrections. Per-role or per-block averages would be smaller but blind to which matrix moved.
 */
public final class ConfigFeatures {
    static final double MIN_BITS = QuantConfig.all().stream()
            .mapToDouble(QuantConfig::bitsPerWeight)
            .min()
            .orElseThrow();
    static final double MAX_BITS = QuantConfig.all().stream()
            .mapToDouble(QuantConfig::bitsPerWeight)
            .max()
            .orElseThrow();

    private ConfigFeatures() {}

    public static double[] encode(ModelQuantConfig config) {
        double[] x = new double[config.matrices().size()];
        for (int i = 0; i < x.length; i++)
            x[i] = feature(config.matrices().get(i).config());
        return x;
    }

    /** The feature of one matrix's option. */
    public static double feature(QuantConfig option) {
        return (option.bitsPerWeight() - MIN_BITS) / (MAX_BITS - MIN_BITS);
    }
}
