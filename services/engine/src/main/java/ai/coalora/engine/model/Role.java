package ai.coalora.engine.model;

/**
 * The module role of a quantized linear matrix inside a BERT block. Each role has its own id: the
 * reference implementation gave two different roles one id, which the configuration-aware network
 * then cannot tell apart.
 */
public enum Role {
    QUERY("attention.self.query"),
    KEY("attention.self.key"),
    VALUE("attention.self.value"),
    ATTENTION_OUTPUT("attention.output.dense"),
    INTERMEDIATE("intermediate.dense"),
    OUTPUT("output.dense");

    private final String hfModule;

    Role(String hfModule) { this.hfModule = hfModule; }

    public String hfModule() { return hfModule; }

    public int id() { return ordinal(); }
}
