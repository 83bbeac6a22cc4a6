package ai.coalora.engine.coa;

import ai.coalora.engine.quant.ModelQuantConfig;
import java.util.List;

/**
 * How the set of configurations CoA-LoRA trains on evolves between epochs: kept frozen, extended with
 * random configurations, or re-chosen by the Pareto-based search (the method's choice).
 */
public interface TrainingSetPolicy {

    /** The task loss of the current adapted model for a configuration, on a fixed evaluation batch. */
    @FunctionalInterface
    interface LossOracle {
        double loss(ModelQuantConfig config);
    }

    /** Short name for reports, e.g. "search". */
    String name();

    /** The training set for the epoch after {@code epoch} (1-based), given the current one. */
    List<ModelQuantConfig> next(int epoch, List<ModelQuantConfig> current, LossOracle loss);

    /** Keeps the initial set: the paper's "frozen" ablation. */
    static TrainingSetPolicy frozen() {
        return new TrainingSetPolicy() {
            public String name() {
                return "frozen";
            }

            public List<ModelQuantConfig> next(int epoch, List<ModelQuantConfig> current, LossOracle loss) {
                return current;
            }
        };
    }
}
