package ai.coalora.engine.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter): Adam moments with decoupled weight decay, after clipping the global
 * gradient norm. Gradients are read from the parameters (DJL autograd) and reset to zero after each
 * step, so several backward passes before a step accumulate. Parameters come in named groups, each with
 * its own learning-rate scale (relative to the step's rate, adjustable between steps) and weight decay.
 */
public final class AdamW implements AutoCloseable {
    /**
     * Parameters that share a learning-rate scale and a weight decay.
     *
     * @param learningRateScale the group's rate is the step's rate times this (0 freezes the group)
     */
    public record Group(String name, List<NDArray> params, float learningRateScale, float weightDecay) {
        public Group {
            params = List.copyOf(params);
            if (!(learningRateScale >= 0) || Float.isInfinite(learningRateScale))
                throw new IllegalArgumentException("learning-rate scale must be >= 0");
            if (!(weightDecay >= 0) || Float.isInfinite(weightDecay))
                throw new IllegalArgumentException("weight decay must be >= 0");
        }
    }

    private final List<NDArray> params = new ArrayList<>();
    /** For each parameter, the index of its group. */
    private final List<Integer> groupOf = new ArrayList<>();

    private final List<String> groupNames = new ArrayList<>();
    private final float[] scales;
    private final float[] decays;
    private final double[] lastNorms;
    private final List<NDArray> m = new ArrayList<>();
    private final List<NDArray> v = new ArrayList<>();
    private final NDManager state;
    private final float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
    private final float clipNorm;
    private int t;
    private int rejectedGradients;

    public AdamW(List<NDArray> params, float weightDecay, float clipNorm, NDManager parent) {
        this(List.of(new Group("all", params, 1f, weightDecay)), clipNorm, parent);
    }

    public AdamW(List<Group> groups, float clipNorm, NDManager parent) {
        this.clipNorm = clipNorm;
        this.scales = new float[groups.size()];
        this.decays = new float[groups.size()];
        this.lastNorms = new double[groups.size()];
        this.state = parent.newSubManager();
        for (int g = 0; g < groups.size(); g++) {
            Group group = groups.get(g);
            groupNames.add(group.name());
            scales[g] = group.learningRateScale();
            decays[g] = group.weightDecay();
            for (NDArray p : group.params()) {
                params.add(p);
                groupOf.add(g);
                m.add(state.zeros(p.getShape()));
                v.add(state.zeros(p.getShape()));
            }
        }
    }

    /** Changes a group's learning-rate scale from the next step on (e.g. to start training it late). */
    public void setLearningRateScale(String group, float scale) {
        int g = groupNames.indexOf(group);
        if (g < 0) throw new IllegalArgumentException("no parameter group " + group + "; groups: " + groupNames);
        if (!(scale >= 0) || Float.isInfinite(scale))
            throw new IllegalArgumentException("learning-rate scale must be >= 0");
        scales[g] = scale;
    }

    /** Group names, in order. */
    public List<String> groups() {
        return List.copyOf(groupNames);
    }

    /** Each group's gradient norm (before clipping) at the last step, in {@link #groups()} order. */
    public double[] lastGroupNorms() {
        double[] out = new double[lastNorms.length];
        for (int g = 0; g < out.length; g++) out[g] = Math.sqrt(lastNorms[g]);
        return out;
    }

    /**
     * One update with learning rate {@code lr}; returns the gradient norm before clipping. A gradient
     * that is not finite is rejected (gradients zeroed, parameters and moments untouched, the caller
     * sees the non-finite norm) and counted, so one bad backward pass cannot poison the adapter.
     */
    public float step(float lr) {
        try (NDManager scope = state.newSubManager()) {
            List<NDArray> grads = new ArrayList<>(params.size());
            NDList squares = new NDList(params.size());
            for (NDArray p : params) {
                NDArray g = p.getGradient();
                g.attach(scope);
                grads.add(g);
                squares.add(g.square().sum());
            }
            // one read of all squared norms, not one per parameter
            float[] sq = NDArrays.stack(squares).toFloatArray();
            Arrays.fill(lastNorms, 0);
            double total = 0;
            for (int i = 0; i < sq.length; i++) {
                lastNorms[groupOf.get(i)] += sq[i];
                total += sq[i];
            }
            float norm = (float) Math.sqrt(total);
            if (!Float.isFinite(norm)) {
                rejectedGradients++;
                for (NDArray g : grads) zero(g);
                return norm;
            }
            t++;
            float clip = norm > clipNorm ? clipNorm / (norm + 1e-6f) : 1f;
            float bc1 = 1 - (float) Math.pow(beta1, t), bc2 = 1 - (float) Math.pow(beta2, t);
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i), g = grads.get(i);
                float rate = lr * scales[groupOf.get(i)], decay = decays[groupOf.get(i)];
                // the engine's fused in-place update: p *= 1 - rate * decay; m, v updated with the clipped gradient;
                // p -= rate * sqrt(bc2) / bc1 * m / (sqrt(v) + eps), which is rate * mHat / (sqrt(vHat) + eps) with
                // eps scaled by sqrt(bc2) (Kingma and Ba's efficient form). A zero rate still advances the moments.
                p.getNDArrayInternal()
                        .adamUpdate(
                                new NDList(p, g, m.get(i), v.get(i)),
                                new NDList(p),
                                rate,
                                rate * (float) Math.sqrt(bc2) / bc1,
                                decay,
                                clip,
                                -1f,
                                beta1,
                                beta2,
                                eps,
                                false,
                                true);
                zero(g);
            }
            return norm;
        }
    }

    /** Resets an accumulated gradient in place (assignment, so NaN or inf entries are cleared too). */
    private static void zero(NDArray grad) {
        grad.set(new NDIndex("..."), 0f);
    }

    /** Gradients rejected because they were not finite. */
    public int rejectedGradients() {
        return rejectedGradients;
    }

    @Override
    public void close() {
        state.close();
    }
}
