package ai.coalora.engine.lora;

import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.StepScope;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * One LoRA pair per quantized linear matrix: W x + s * B (A x), with A (r x in), B (out x r), s = alpha / r.
 * Standard init: A uniform in +-1/sqrt(in) (PyTorch's kaiming-uniform bound), B = 0, so training starts
 * from the base model exactly.
 */
public final class LoraAdapter implements Adapter, AutoCloseable {
    private final LoraSpec spec;
    private final NDManager manager;
    private final Map<LinearId, NDArray> a = new TreeMap<>();
    private final Map<LinearId, NDArray> b = new TreeMap<>();

    private LoraAdapter(LoraSpec spec, NDManager manager) {
        this.spec = spec;
        this.manager = manager;
    }

    public static LoraAdapter initialize(BertEncoder encoder, LoraSpec spec, long seed, NDManager parent) {
        LoraAdapter lora = new LoraAdapter(spec, parent.newSubManager());
        Random random = new Random(seed);
        for (LinearId id : encoder.linearIds()) {
            int out = encoder.linearShape(id)[0], in = encoder.linearShape(id)[1];
            float bound = (float) (1.0 / Math.sqrt(in));
            float[] init = new float[spec.rank() * in];
            for (int i = 0; i < init.length; i++) init[i] = (random.nextFloat() * 2 - 1) * bound;
            lora.a.put(id, trainable(lora.manager.create(init, new Shape(spec.rank(), in))));
            lora.b.put(id, trainable(lora.manager.zeros(new Shape(out, spec.rank()))));
        }
        return lora;
    }

    /** A trainable copy in native-owned memory (DJL's create() may alias a Java buffer). */
    public static NDArray trainable(NDArray x) {
        NDArray owned = x.duplicate();
        x.close();
        owned.setRequiresGradient(true);
        return owned;
    }

    @Override
    public NDArray delta(LinearId id, NDArray input) {
        NDArray down = a.get(id), up = b.get(id);
        if (down == null) return null;
        return input.matMul(StepScope.own(down.transpose(), input)).matMul(StepScope.own(up.transpose(), input))
                .mul(spec.scale());
    }

    public LoraSpec spec() { return spec; }

    public NDArray a(LinearId id) { return a.get(id); }

    public NDArray b(LinearId id) { return b.get(id); }

    /** Trainable arrays: every A and B. */
    public List<NDArray> parameters() {
        List<NDArray> p = new ArrayList<>(a.values());
        p.addAll(b.values());
        return p;
    }

    /** The merged weight update s * B A of one matrix (out x in), for folding into a base weight. */
    public float[] mergedDelta(LinearId id) {
        try (NDManager tmp = manager.newSubManager()) {
            NDArray d = b.get(id).matMul(a.get(id)).mul(spec.scale());
            d.attach(tmp);
            return d.toFloatArray();
        }
    }

    @Override
    public void close() { manager.close(); }
}
