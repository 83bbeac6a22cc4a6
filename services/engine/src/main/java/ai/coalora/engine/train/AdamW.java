package ai.coalora.engine.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter): Adam moments with decoupled weight decay, after clipping the global
 * gradient norm. Gradients are read from the parameters (DJL autograd) and reset to zero after each
 * step, so several backward passes before a step accumulate.
 */
public final class AdamW implements AutoCloseable {
    private final List<NDArray> params;
    private final List<NDArray> m = new ArrayList<>();
    private final List<NDArray> v = new ArrayList<>();
    private final NDManager state;
    private final float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
    private final float weightDecay;
    private final float clipNorm;
    private int t;
    private int rejectedGradients;

    public AdamW(List<NDArray> params, float weightDecay, float clipNorm, NDManager parent) {
        this.params = List.copyOf(params);
        this.weightDecay = weightDecay;
        this.clipNorm = clipNorm;
        this.state = parent.newSubManager();
        for (NDArray p : params) {
            m.add(state.zeros(p.getShape()));
            v.add(state.zeros(p.getShape()));
        }
    }

    /**
     * One update with learning rate {@code lr}; returns the gradient norm before clipping. A gradient
     * that is not finite is rejected (gradients zeroed, parameters and moments untouched, the caller
     * sees the non-finite norm) and counted, so one bad backward pass cannot poison the adapter.
     */
    public float step(float lr) {
        try (NDManager scope = state.newSubManager()) {
            List<NDArray> grads = new ArrayList<>();
            double sq = 0;
            for (NDArray p : params) {
                NDArray g = p.getGradient();
                g.attach(scope);
                grads.add(g);
                sq += g.square().sum().getFloat();
            }
            float norm = (float) Math.sqrt(sq);
            if (!Float.isFinite(norm)) {
                rejectedGradients++;
                for (NDArray g : grads) zero(g);
                return norm;
            }
            t++;
            float clip = norm > clipNorm ? clipNorm / (norm + 1e-6f) : 1f;
            float bc1 = 1 - (float) Math.pow(beta1, t), bc2 = 1 - (float) Math.pow(beta2, t);
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i), g = grads.get(i).mul(clip);
                m.get(i).muli(beta1).addi(g.mul(1 - beta1));
                v.get(i).muli(beta2).addi(g.square().mul(1 - beta2));
                // ops take the manager of their first operand: bring the bias-corrected moments into scope
                NDArray mHat = m.get(i).div(bc1);
                NDArray vHat = v.get(i).div(bc2);
                mHat.attach(scope);
                vHat.attach(scope);
                NDArray update = mHat.div(vHat.sqrt().add(eps));
                if (weightDecay > 0) p.muli(1 - lr * weightDecay);
                p.subi(update.mul(lr));
                zero(grads.get(i));
            }
            return norm;
        }
    }

    /** Resets an accumulated gradient in place (assignment, so NaN or inf entries are cleared too). */
    private static void zero(NDArray grad) {
        grad.set(new NDIndex("..."), 0f);
    }

    /** Gradients rejected because they were not finite. */
    public int rejectedGradients() { return rejectedGradients; }

    @Override
    public void close() { state.close(); }
}
