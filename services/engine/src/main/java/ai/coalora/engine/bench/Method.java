package ai.coalora.engine.bench;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.coa.ConfigInputs;
import ai.coalora.engine.coa.ThetaSettings;
import ai.coalora.engine.coa.TrainingSetPolicies;
import ai.coalora.engine.coa.TrainingSetPolicy;
import ai.coalora.engine.train.FineTuneSettings;
import java.util.Arrays;
import java.util.Locale;

/** The methods of the paper's comparison (its Table 2), in table order. */
public enum Method {
    PER_CONFIGURATION("per-configuration LoRA", "one LoRA fine-tuned per configuration (QLoRA-style)"),
    SHARED_LORA("Shared-LoRA", "one LoRA trained across the configuration set, no M"),
    COA_FROZEN("CoA-LoRA (frozen set)", "configuration-aware, trained on the initial set only"),
    COA_RANDOM("CoA-LoRA (random extension)", "configuration-aware, set extended by random coordinate walks"),
    COA_SEARCH("CoA-LoRA (search)", "configuration-aware, set re-chosen by the Pareto search each epoch"),
    COA_BLIND(
            "CoA-LoRA (blind control)",
            "the network with its configuration inputs held constant, block and role kept; frozen set");

    public final String label;
    public final String description;

    Method(String label, String description) {
        this.label = label;
        this.description = description;
    }

    public String jsonName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public boolean configAware() {
        return this == COA_FROZEN || this == COA_RANDOM || this == COA_SEARCH || this == COA_BLIND;
    }

    /**
     * How the method trains: per-configuration LoRA one configuration per step with no network and a cache of one;
     * the shared methods two configurations per step, with the network when configuration-aware; the blind control
     * with the network's configuration inputs held constant.
     */
    public CoaSettings settings(FineTuneSettings training, ThetaSettings theta) {
        if (this == PER_CONFIGURATION) return new CoaSettings(training, 1, false, 1, theta);
        ThetaSettings t = this == COA_BLIND ? theta.withInputs(ConfigInputs.BLIND) : theta;
        return new CoaSettings(training, 2, configAware(), CoaSettings.DEFAULT_CACHE_CAPACITY, t);
    }

    /** How the method's training set changes between epochs: re-chosen by the search, randomly extended, or kept. */
    public TrainingSetPolicy policy(int segments, int candidates, long seed, TrainingSetPolicies.Selection selection) {
        return switch (this) {
            case COA_SEARCH -> TrainingSetPolicies.paretoSearch(segments, candidates, seed, selection);
            case COA_RANDOM -> TrainingSetPolicies.randomExtension(segments, candidates, seed, selection);
            default -> TrainingSetPolicy.frozen();
        };
    }

    public static Method parse(String s) {
        for (Method m : values()) if (m.jsonName().equals(s)) return m;
        throw new IllegalArgumentException("unknown method '" + s + "'; valid: "
                + Arrays.stream(values()).map(Method::jsonName).toList());
    }
}
