package ai.coalora.engine.coa;

import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.QuantizableModel;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * CoA-LoRA's trainable model: one LoRA pair per quantized matrix, shared by all configurations, and the
 * configuration-aware network that adjusts it per configuration:
 * <pre>  W_i(c) = Q_c(W0_i) + s * B_i * M_i(c) * A_i</pre>
 * Without the network (Shared-LoRA, the paper's baseline) M_i = I for every configuration.
 */
public final class ConfigAwareLora implements AutoCloseable {
    private final LoraAdapter lora;
    private final ConfigAwareNetwork network;

    public ConfigAwareLora(LoraAdapter lora, ConfigAwareNetwork network) {
        if (network != null && network.rank() != lora.spec().rank()) {
            throw new IllegalArgumentException("network rank " + network.rank() + " != LoRA rank "
                    + lora.spec().rank());
        }
        this.lora = lora;
        this.network = network;
    }

    /** Standard LoRA init (B = 0) and, if {@code configAware}, a network that starts at M = I. */
    public static ConfigAwareLora initialize(
            QuantizableModel model, LoraSpec spec, long seed, boolean configAware, NDManager parent) {
        return initialize(model, spec, seed, configAware ? ThetaSettings.defaults() : null, parent);
    }

    /** As above, with the network built as {@code theta} says; null theta: Shared-LoRA, no network. */
    public static ConfigAwareLora initialize(
            QuantizableModel model, LoraSpec spec, long seed, ThetaSettings theta, NDManager parent) {
        LoraAdapter lora = LoraAdapter.initialize(model, spec, seed, parent);
        ConfigAwareNetwork net = theta != null
                ? ConfigAwareNetwork.initialize(
                        spec.rank(),
                        model.numBlocks(),
                        model.architecture().roles().size(),
                        seed + 7,
                        theta,
                        parent)
                : null;
        return new ConfigAwareLora(lora, net);
    }

    /**
     * The adapter for one configuration, for a training or evaluation step: every M_i is computed in one
     * batched pass of the network, into {@code scope}, and stays differentiable.
     */
    public Adapter adapterFor(ModelQuantConfig config, NDManager scope) {
        if (network == null) return lora;
        return withMixing(mixing(config, scope));
    }

    /** The shared LoRA with given mixing matrices (a matrix without one uses M = I), e.g. M averaged over configurations. */
    public Adapter withMixing(Map<LinearId, NDArray> mixing) {
        return (id, x) -> lora.delta(id, x, mixing.get(id));
    }

    /** M_i(c) of every matrix, in {@code scope}; empty for Shared-LoRA. */
    public Map<LinearId, NDArray> mixing(ModelQuantConfig config, NDManager scope) {
        if (network == null) return Map.of();
        List<ConfigFields> fields = ConfigAwareNetwork.fieldsOf(config);
        NDArray all = network.mixing(fields, scope);
        Map<LinearId, NDArray> out = new HashMap<>();
        for (int i = 0; i < fields.size(); i++) {
            out.put(LinearId.parse(config.matrices().get(i).matrix().name()), all.get(i));
        }
        return out;
    }

    /**
     * For deployment: fold M into A once (A' = M A), giving an ordinary LoRA with no extra cost on the
     * device. The result is a new, detached adapter owned by {@code parent}.
     */
    public LoraAdapter fold(ModelQuantConfig config, NDManager parent) {
        try (NDManager scope = parent.newSubManager()) {
            Map<LinearId, NDArray> a = new TreeMap<>(), b = new TreeMap<>();
            Map<LinearId, NDArray> mixing = mixing(config, scope);
            for (LinearId id : lora.matrices()) {
                NDArray m = mixing.get(id);
                // outside a gradient collector these are plain values, detached from training; copies, not views
                NDArray folded = m == null ? lora.a(id).duplicate() : m.matMul(lora.a(id));
                NDArray up = lora.b(id).duplicate();
                folded.attach(scope);
                up.attach(scope);
                a.put(id, folded);
                b.put(id, up);
            }
            return LoraAdapter.of(lora.spec(), a, b, parent); // takes the folded arrays out of the scope
        }
    }

    public LoraAdapter lora() {
        return lora;
    }

    /** The configuration-aware network; null for Shared-LoRA. */
    public ConfigAwareNetwork network() {
        return network;
    }

    public boolean configAware() {
        return network != null;
    }

    /** Everything trained jointly with the head: A, B and the network's parameters. */
    public List<NDArray> parameters() {
        List<NDArray> p = new ArrayList<>(lora.parameters());
        if (network != null) p.addAll(network.parameters().values());
        return p;
    }

    @Override
    public void close() {
        lora.close();
        if (network != null) network.close();
    }
}
