package ai.coalora.engine.search;

/**
 * The two objectives of a configuration, both minimised: f1 = task loss of the adapted model, f2 = average bits.
 * One small value type so that fronts, hypervolumes and EHVI all speak about the same pair.
 */
public record Objectives(double loss, double bits) {
    public Objectives {
        if (!Double.isFinite(loss) || !Double.isFinite(bits)) {
            throw new IllegalArgumentException("objectives must be finite, got loss=" + loss + ", bits=" + bits);
        }
    }

    /** Pareto dominance for minimisation: no worse on both objectives and strictly better on one. */
    public boolean dominates(Objectives other) {
        return loss <= other.loss && bits <= other.bits && (loss < other.loss || bits < other.bits);
    }
}
