package ai.coalora.engine.bench;

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

    public static Method parse(String s) {
        for (Method m : values()) if (m.jsonName().equals(s)) return m;
        throw new IllegalArgumentException("unknown method '" + s + "'; valid: "
                + Arrays.stream(values()).map(Method::jsonName).toList());
    }
}
