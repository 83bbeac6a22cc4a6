package ai.coalora.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The frozen weights of the quantizable linear layers, one set per quantization configuration
 * (full precision, or dequantized from a configuration). Stored transposed (in x out) once, so the
 * forward pass is a plain {@code x.matMul(w)}. Closing it frees the native memory.
 */
public final class BaseWeights implements AutoCloseable {
    private final NDManager manager;
    private final Map<LinearId, NDArray> transposed = new TreeMap<>();
    private final Map<LinearId, NDArray> outByIn = new HashMap<>();

    private BaseWeights(NDManager manager) {
        this.manager = manager;
    }

    /** Builds the set from HF-layout (out x in) float matrices. */
    public static BaseWeights of(NDManager parent, Map<LinearId, float[]> weights, Map<LinearId, int[]> shapes) {
        BaseWeights b = new BaseWeights(parent.newSubManager());
        for (Map.Entry<LinearId, float[]> e : weights.entrySet()) {
            int[] s = shapes.get(e.getKey());
            NDArray w = b.manager.create(e.getValue(), new Shape(s[0], s[1]));
            NDArray t = w.transpose().duplicate(); // contiguous (in x out)
            w.close();
            b.transposed.put(e.getKey(), t);
        }
        return b;
    }

    /**
     * A set over arrays someone else owns (e.g. a decoder's trainable weights): no copy, and closing the set
     * leaves the arrays alone.
     */
    public static BaseWeights viewOf(NDManager parent, Map<LinearId, NDArray> transposedWeights) {
        BaseWeights b = new BaseWeights(parent.newSubManager());
        b.transposed.putAll(transposedWeights);
        return b;
    }

    /** The matrices this set holds. */
    public Set<LinearId> matrices() {
        return Collections.unmodifiableSet(transposed.keySet());
    }

    public NDArray transposed(LinearId id) {
        NDArray w = transposed.get(id);
        if (w == null) throw new IllegalArgumentException("no base weight for " + id.weightName());
        return w;
    }

    /**
     * The same weight as (out x in), the layout {@code Linear.linear} takes: a view of {@link #transposed} (no copy),
     * made once, so the forward pass can fuse the bias into the product.
     */
    public synchronized NDArray outByIn(LinearId id) {
        NDArray w = outByIn.get(id);
        if (w == null) {
            w = transposed(id).transpose();
            w.attach(manager);
            outByIn.put(id, w);
        }
        return w;
    }

    @Override
    public void close() {
        manager.close();
    }
}
