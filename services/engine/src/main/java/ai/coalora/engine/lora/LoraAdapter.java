package ai.coalora.engine.lora;

import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.QuantizableModel;
import ai.coalora.engine.model.StepScope;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
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

    public static LoraAdapter initialize(QuantizableModel model, LoraSpec spec, long seed, NDManager parent) {
        LoraAdapter lora = new LoraAdapter(spec, parent.newSubManager());
        Random random = new Random(seed);
        for (LinearId id : model.linearIds()) {
            int out = model.linearShape(id)[0], in = model.linearShape(id)[1];
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

    /**
     * An adapter made of given A (r x in) and B (out x r) per matrix, e.g. a folded or a loaded one. It takes
     * ownership of the arrays (they move to its manager, no copy: emitting an adapter stays cheap).
     */
    public static LoraAdapter of(
            LoraSpec spec, Map<LinearId, NDArray> aByMatrix, Map<LinearId, NDArray> bByMatrix, NDManager parent) {
        if (!aByMatrix.keySet().equals(bByMatrix.keySet()))
            throw new IllegalArgumentException("LoRA: A and B name different matrices");
        for (LinearId id : aByMatrix.keySet()) {
            NDArray down = aByMatrix.get(id), up = bByMatrix.get(id);
            if (down.getShape().get(0) != spec.rank() || up.getShape().get(1) != spec.rank()) {
                throw new IllegalArgumentException("LoRA " + id.weightName() + ": A " + down.getShape() + " and B "
                        + up.getShape() + " do not have rank " + spec.rank());
            }
        }
        LoraAdapter lora = new LoraAdapter(spec, parent.newSubManager());
        for (LinearId id : aByMatrix.keySet()) {
            NDArray down = aByMatrix.get(id), up = bByMatrix.get(id);
            down.attach(lora.manager);
            up.attach(lora.manager);
            lora.a.put(id, down);
            lora.b.put(id, up);
        }
        return lora;
    }

    @Override
    public NDArray delta(LinearId id, NDArray input) {
        return delta(id, input, null);
    }

    /**
     * s * B M A x, the configuration-aware update (M an r x r mixing matrix); M = null is plain LoRA,
     * s * B A x. The scale is applied here and nowhere else.
     */
    public NDArray delta(LinearId id, NDArray input, NDArray mixing) {
        NDArray down = a.get(id), up = b.get(id);
        if (down == null) return null;
        // M A (r x in) costs r^2 in; M applied to the activations would cost a pass over every token. The scale goes
        // on the rank-r activations, not on the wide output, for the same reason.
        NDArray mixedDown = mixing == null ? down : StepScope.own(mixing.matMul(down), input);
        NDArray h = input.matMul(StepScope.own(mixedDown.transpose(), input)).mul(spec.scale());
        return h.matMul(StepScope.own(up.transpose(), input));
    }

    /** The matrices this adapter adjusts. */
    public Set<LinearId> matrices() {
        return a.keySet();
    }

    public LoraSpec spec() {
        return spec;
    }

    public NDArray a(LinearId id) {
        return a.get(id);
    }

    public NDArray b(LinearId id) {
        return b.get(id);
    }

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

    /**
     * {@code base} with this adapter merged in: W + s B A for every matrix it adjusts, the others as they are. The
     * layers compute what base plus adapter computes, up to float rounding, at the cost of the base alone (one
     * product per layer instead of three, and no element-wise passes): for scoring one adapter on many examples.
     * The merged matrices live in {@code scope}; the result is valid until scope or {@code base} closes.
     */
    public BaseWeights mergedInto(BaseWeights base, NDManager scope) {
        Map<LinearId, NDArray> merged = new TreeMap<>();
        try (NDManager tmp = scope.newSubManager()) {
            for (LinearId id : base.matrices()) {
                NDArray down = a.get(id);
                if (down == null) {
                    merged.put(id, base.transposed(id));
                    continue;
                }
                // operation results land in the first operand's manager: keep the temporaries out of this adapter's
                NDArray downT = down.transpose(), upT = b.get(id).transpose();
                downT.attach(tmp);
                upT.attach(tmp);
                NDArray w = downT.matMul(upT)
                        .muli(spec.scale())
                        .addi(base.transposed(id)); // (in x out), as bases are stored
                w.attach(scope);
                merged.put(id, w);
            }
        }
        return BaseWeights.viewOf(scope, merged);
    }

    @Override
    public void close() {
        manager.close();
    }
}
