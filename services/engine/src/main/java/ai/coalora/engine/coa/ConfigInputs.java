package ai.coalora.engine.coa;

import java.util.Locale;

/** What the configuration-aware network reads of one matrix's configuration. */
public enum ConfigInputs {
    /** The five configuration fields as categorical embeddings, with block and role (the method's network). */
    FIELDS,
    /**
     * The categorical fields plus continuous ones (bits per weight, b, b0, scale-type bits, log2 B0, log2 B1): a layout
     * whose combination of fields never occurred in training still lands between known points instead of on
     * untrained embedding combinations.
     */
    FIELDS_AND_CONTINUOUS,
    /**
     * A control, never shipped: the configuration fields held constant, block and role kept. Whatever this network
     * gains over Shared-LoRA comes from reparametrisation, not from reading the configuration.
     */
    BLIND;

    public String jsonName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static ConfigInputs parse(String s) {
        for (ConfigInputs i : values()) if (i.jsonName().equals(s)) return i;
        throw new IllegalArgumentException(
                "unknown theta inputs '" + s + "'; valid: fields, fields-and-continuous, blind");
    }
}
