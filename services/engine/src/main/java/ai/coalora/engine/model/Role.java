package ai.coalora.engine.model;

import java.util.Arrays;
import java.util.List;

/**
 * The module role of a quantized linear matrix inside a block: the six of a BERT encoder block, or the seven
 * of a Llama / Qwen2 decoder block. Each role has its own id within its architecture: the reference
 * implementation gave two different roles one id, which the configuration-aware network then cannot tell apart.
 */
public enum Role {
    QUERY(Architecture.ENCODER, "attention.self.query"),
    KEY(Architecture.ENCODER, "attention.self.key"),
    VALUE(Architecture.ENCODER, "attention.self.value"),
    ATTENTION_OUTPUT(Architecture.ENCODER, "attention.output.dense"),
    INTERMEDIATE(Architecture.ENCODER, "intermediate.dense"),
    OUTPUT(Architecture.ENCODER, "output.dense"),

    Q_PROJ(Architecture.DECODER, "self_attn.q_proj"),
    K_PROJ(Architecture.DECODER, "self_attn.k_proj"),
    V_PROJ(Architecture.DECODER, "self_attn.v_proj"),
    O_PROJ(Architecture.DECODER, "self_attn.o_proj"),
    GATE_PROJ(Architecture.DECODER, "mlp.gate_proj"),
    UP_PROJ(Architecture.DECODER, "mlp.up_proj"),
    DOWN_PROJ(Architecture.DECODER, "mlp.down_proj");

    /** Where a block's matrices live in Hugging Face weight names: {@code prefix + block + "." + module + ".weight"}. */
    public enum Architecture {
        ENCODER("encoder.layer."),
        DECODER("model.layers.");

        public final String blockPrefix;

        Architecture(String blockPrefix) {
            this.blockPrefix = blockPrefix;
        }

        /** Its roles, in block order. */
        public List<Role> roles() {
            return Arrays.stream(Role.values())
                    .filter(r -> r.architecture == this)
                    .toList();
        }
    }

    private final Architecture architecture;
    private final String hfModule;

    Role(Architecture architecture, String hfModule) {
        this.architecture = architecture;
        this.hfModule = hfModule;
    }

    public Architecture architecture() {
        return architecture;
    }

    public String hfModule() {
        return hfModule;
    }

    /** Position within its architecture's roles: the configuration-aware network's role input. */
    public int id() {
        return architecture.roles().indexOf(this);
    }
}
