package ai.coalora.cli;

import ai.coalora.engine.coa.ConfigInputs;
import ai.coalora.engine.coa.ThetaSettings;
import picocli.CommandLine.Option;

/** How the configuration-aware network is built and trained, shared by `train` and `bench paper` (docs/coa-study.md). */
public final class ThetaOptions {

    @Option(
            names = "--theta-lr",
            description = "Peak learning rate of the configuration-aware network (default: the LoRA's).")
    Float learningRate;

    @Option(names = "--theta-gain", description = "Initial gain g of M = I + g U (default: 1).")
    Float gain;

    @Option(
            names = "--theta-inputs",
            description = "What the network reads: fields (categorical, the method's) or "
                    + "fields-and-continuous (plus bits per weight and the fields as numbers) (default: fields).")
    String inputs;

    @Option(
            names = "--theta-start",
            description = "Fraction of the training steps before the network starts learning; until then "
                    + "M = I and the steps train the shared LoRA (default: 0).")
    Double start;

    /** {@code base} with the given options applied. */
    ThetaSettings apply(ThetaSettings base) {
        ThetaSettings theta = base;
        if (learningRate != null) theta = theta.withLearningRate(learningRate);
        if (gain != null) theta = theta.withGainInit(gain);
        if (inputs != null) {
            ConfigInputs parsed = ConfigInputs.parse(inputs);
            if (parsed == ConfigInputs.BLIND)
                throw new IllegalArgumentException("the blind network is a control, not a product: "
                        + "run it with bench paper --methods coa-blind");
            theta = theta.withInputs(parsed);
        }
        if (start != null) theta = theta.withStartFraction(start);
        return theta;
    }
}
