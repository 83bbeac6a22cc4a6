package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.coa.ConfigAwareNetwork;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.Role;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A trained {@link ConfigAwareLora} as bundle tensors and back, for every bundle kind: {@code lora.<weight name>.A}
 * (r x in), {@code lora.<weight name>.B} (out x r) and {@code network.<parameter>} (the configuration-aware network).
 */
final class BundleTensors {
    static final String NETWORK_PREFIX = "network.";

    private BundleTensors() {}

    /** The model's tensors by bundle name. */
    static Map<String, Tensor> of(ConfigAwareLora model) {
        Map<String, Tensor> out = new TreeMap<>();
        for (LinearId id : model.lora().matrices()) {
            out.put(loraName(id, "A"), tensor(model.lora().a(id)));
            out.put(loraName(id, "B"), tensor(model.lora().b(id)));
        }
        if (model.network() != null)
            model.network().parameters().forEach((name, p) -> out.put(NETWORK_PREFIX + name, tensor(p)));
        return out;
    }

    static Tensor tensor(NDArray x) {
        return Tensor.ofFloats(x.toFloatArray(), x.getShape().getShape());
    }

    /**
     * The model the tensors hold, in {@code manager}: one LoRA pair per matrix of {@code shapes} (out, in) and, if
     * {@code configAware}, the network for {@code numBlocks} blocks of {@code architecture}. A missing or mis-sized
     * tensor is an IllegalArgumentException naming it and {@code dir}.
     *
     * @param trainable copies in native-owned memory that require gradients (a warm start); otherwise plain values
     */
    static ConfigAwareLora configAwareLora(
            Map<String, Tensor> tensors,
            Path dir,
            Map<LinearId, int[]> shapes,
            LoraSpec spec,
            boolean configAware,
            Role.Architecture architecture,
            int numBlocks,
            NDManager manager,
            boolean trainable) {
        Map<LinearId, NDArray> a = new TreeMap<>(), b = new TreeMap<>();
        shapes.forEach((id, shape) -> {
            NDArray down = array(tensors, dir, manager, loraName(id, "A"), spec.rank(), shape[1]);
            NDArray up = array(tensors, dir, manager, loraName(id, "B"), shape[0], spec.rank());
            // create() may alias a Java buffer: training needs native-owned copies (the network makes its own)
            a.put(id, trainable ? LoraAdapter.trainable(down) : down);
            b.put(id, trainable ? LoraAdapter.trainable(up) : up);
        });
        LoraAdapter lora = LoraAdapter.of(spec, a, b, manager);
        ConfigAwareNetwork network = null;
        if (configAware) {
            Map<String, float[]> values = new LinkedHashMap<>();
            tensors.forEach((name, t) -> {
                if (name.startsWith(NETWORK_PREFIX)) values.put(name.substring(NETWORK_PREFIX.length()), t.floats());
            });
            try {
                network = ConfigAwareNetwork.of(
                        spec.rank(), numBlocks, architecture.roles().size(), values, manager);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
            }
        }
        return new ConfigAwareLora(lora, network);
    }

    static float[] floats(Map<String, Tensor> tensors, Path dir, String name, long count) {
        Tensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException(dir + ": bundle lacks tensor " + name);
        if (t.elementCount() != count) {
            throw new IllegalArgumentException(
                    dir + ": tensor " + name + " has " + t.elementCount() + " values, expected " + count);
        }
        return t.floats();
    }

    private static NDArray array(
            Map<String, Tensor> tensors, Path dir, NDManager manager, String name, long rows, long cols) {
        return manager.create(floats(tensors, dir, name, rows * cols), new Shape(rows, cols));
    }

    private static String loraName(LinearId id, String factor) {
        return "lora." + id.weightName() + "." + factor;
    }
}
