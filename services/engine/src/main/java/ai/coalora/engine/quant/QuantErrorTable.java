package ai.coalora.engine.quant;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * For one matrix: the quantization error of each configuration option, the input of {@link BudgetAllocator}.
 *
 * <p>error(c) = sum_ij imp[j] * (W_ij - Q_c(W)_ij)^2, where imp[j] is the importance of input column j
 * (E[x_j^2] over calibration activations, a diagonal Fisher/Hessian proxy; 1 when unknown). Q_c is
 * {@link Quantizer#fakeQuantize} (evaluated without materializing it, bit-identically), so the table measures exactly
 * what training and devices will use.
 */
public final class QuantErrorTable {
    private final MatrixSpec matrix;
    private final QuantizerKind quantizer;
    private final List<QuantConfig> options;
    private final double[] errors;

    /** A table from precomputed errors ({@code errors[i]} belongs to {@code options.get(i)}). */
    public QuantErrorTable(MatrixSpec matrix, QuantizerKind quantizer, List<QuantConfig> options, double[] errors) {
        if (matrix == null || quantizer == null || options == null || errors == null) {
            throw new IllegalArgumentException("null argument");
        }
        if (options.isEmpty() || options.size() != errors.length) {
            throw new IllegalArgumentException(matrix.name() + ": need one error per option, got " + options.size()
                    + " options and " + errors.length + " errors");
        }
        Set<QuantConfig> seen = new HashSet<>();
        for (int i = 0; i < errors.length; i++) {
            if (!seen.add(options.get(i)))
                throw new IllegalArgumentException(matrix.name() + ": duplicate option " + options.get(i));
            if (!(errors[i] >= 0 && errors[i] < Double.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException(matrix.name() + ": error of " + options.get(i) + " is " + errors[i]);
            }
        }
        this.matrix = matrix;
        this.quantizer = quantizer;
        this.options = List.copyOf(options);
        this.errors = errors.clone();
    }

    /**
     * This table without the options whose weight bit-width is not in {@code weightBits}: what a device with
     * kernels for only those widths can use. An IllegalArgumentException when no option is left.
     */
    public QuantErrorTable restrictedTo(Set<Integer> weightBits) {
        int[] keep = IntStream.range(0, options.size())
                .filter(i -> weightBits.contains(options.get(i).b()))
                .toArray();
        if (keep.length == 0)
            throw new IllegalArgumentException(matrix.name() + ": no option with weight bits in " + weightBits);
        return new QuantErrorTable(
                matrix,
                quantizer,
                IntStream.of(keep).mapToObj(options::get).toList(),
                IntStream.of(keep).mapToDouble(i -> errors[i]).toArray());
    }

    /** Errors of all 432 options ({@link QuantConfig#all()}), computed in parallel over options. */
    public static QuantErrorTable compute(
            MatrixSpec matrix, float[] weights, float[] importance, QuantizerKind quantizer) {
        return compute(matrix, weights, importance, quantizer, QuantConfig.all());
    }

    /** Errors of the given options. {@code importance} has one entry per input column, or is null (all 1). */
    public static QuantErrorTable compute(
            MatrixSpec matrix,
            float[] weights,
            float[] importance,
            QuantizerKind quantizer,
            List<QuantConfig> options) {
        if (weights == null || weights.length != matrix.numel()) {
            throw new IllegalArgumentException(
                    matrix.name() + ": weights length does not match " + matrix.rows() + "x" + matrix.cols());
        }
        if (importance != null) {
            if (importance.length != matrix.cols()) {
                throw new IllegalArgumentException(matrix.name() + ": importance needs " + matrix.cols()
                        + " entries (one per input column), got " + importance.length);
            }
            for (float v : importance) {
                if (!(v >= 0 && v < Float.POSITIVE_INFINITY)) {
                    throw new IllegalArgumentException(
                            matrix.name() + ": importance must be finite and >= 0, found " + v);
                }
            }
        }
        double[] errors =
                Quantizer.weightedErrors(weights, matrix.rows(), matrix.cols(), options, quantizer, importance);
        return new QuantErrorTable(matrix, quantizer, options, errors);
    }

    /** sum_ij imp[j] (w_ij - q_ij)^2 over a row-major matrix with {@code cols} columns; null importance = 1. */
    public static double weightedError(float[] w, float[] q, int cols, float[] importance) {
        double total = 0;
        for (int start = 0; start < w.length; start += cols) {
            double row = 0;
            if (importance == null) {
                for (int j = 0; j < cols; j++) {
                    double d = w[start + j] - q[start + j];
                    row += d * d;
                }
            } else {
                for (int j = 0; j < cols; j++) {
                    double d = w[start + j] - q[start + j];
                    row += importance[j] * d * d;
                }
            }
            total += row;
        }
        return total;
    }

    public MatrixSpec matrix() {
        return matrix;
    }

    public QuantizerKind quantizer() {
        return quantizer;
    }

    public List<QuantConfig> options() {
        return options;
    }

    public int size() {
        return errors.length;
    }

    public double error(int option) {
        return errors[option];
    }

    public double errorOf(QuantConfig config) {
        int i = options.indexOf(config);
        if (i < 0) throw new IllegalArgumentException(matrix.name() + ": no error for option " + config);
        return errors[i];
    }
}
