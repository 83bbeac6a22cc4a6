package ai.coalora.engine.train;

import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.LinearId;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * How close LoRA training gets to the machine's matrix-multiply speed. In one process it times
 * (1) real training steps (LoRA + head on frozen base weights) and (2) only the dense matmuls those
 * steps must do at the same shapes: for every quantized matrix, the forward product x W^T and the
 * input-gradient product dy W (the frozen base needs no weight gradient). The ratio of (2) to (1)
 * is the share of training time that is irreducible matmul work; everything else (attention, norms,
 * LoRA, optimizer, framework overhead) is the rest.
 */
public final class ThroughputBenchmark {

    public record Result(
            int steps,
            int batchSize,
            long tokens,
            long paddedTokens,
            double trainSeconds,
            double matmulSeconds,
            double matmulGflop) {
        public double trainTokensPerSecond() {
            return tokens / trainSeconds;
        }

        public double matmulGflopPerSecond() {
            return matmulGflop / matmulSeconds;
        }
        /** Training step time spent in the irreducible matmuls, if they ran at the measured matmul speed. */
        public double ratio() {
            return matmulSeconds / trainSeconds;
        }

        public double matmulOnlyTokensPerSecond() {
            return tokens / matmulSeconds;
        }
    }

    private ThroughputBenchmark() {}

    public static Result run(
            BertEncoder encoder,
            BaseWeights base,
            FineTuneSettings settings,
            EncodedExamples data,
            int steps,
            int warmupSteps,
            Progress progress) {
        int batchSize = settings.batchSize();
        if (data.size() < batchSize) throw new IllegalArgumentException("need at least " + batchSize + " examples");
        // training steps, timed after untimed warm-up steps (JIT, allocator, thread pools)
        FineTuneSettings oneEpoch = settings.withEpochs(1);
        FineTuner tuner = new FineTuner(encoder, 2);
        if (warmupSteps > 0)
            tuner.runTrainingOnly(base, oneEpoch, cycle(data, 0, warmupSteps * batchSize), Progress.NONE);
        EncodedExamples measured = cycle(data, warmupSteps * batchSize, steps * batchSize);
        FineTuner.Result r = tuner.runTrainingOnly(base, oneEpoch, measured, progress);
        double trainSeconds = r.trainSeconds(); // the steps alone, without adapter set-up

        // the same steps' matmuls alone, at the same (batch x padded length) shapes
        List<long[]> shapes = new ArrayList<>();
        long padded = 0;
        for (int[] shape : r.batchShapes()) {
            shapes.add(new long[] {shape[0], shape[1]});
            padded += (long) shape[0] * shape[1];
        }
        // inputs are drawn before each timed product, so only the products are timed
        double gflop = 0;
        long matmulNanos = 0;
        try (NDManager scope = encoder.manager().newSubManager()) {
            for (long[] s : shapes) {
                long rowsOfX = s[0] * s[1];
                for (LinearId id : encoder.linearIds()) {
                    NDArray w = base.transposed(id); // (in x out)
                    long in = w.getShape().get(0), out = w.getShape().get(1);
                    try (NDManager step = scope.newSubManager()) {
                        NDArray x = step.randomNormal(new Shape(rowsOfX, in));
                        NDArray dy = step.randomNormal(new Shape(rowsOfX, out));
                        NDArray wT = w.transpose();
                        wT.attach(step);
                        x.getFloat(0, 0);
                        dy.getFloat(0, 0);
                        long t0 = System.nanoTime();
                        NDArray y = x.matMul(w);
                        NDArray dx = dy.matMul(wT);
                        y.getFloat(0, 0);
                        dx.getFloat(0, 0); // force completion
                        matmulNanos += System.nanoTime() - t0;
                    }
                    gflop += 2 * 2.0 * rowsOfX * in * out / 1e9;
                }
            }
        }
        double matmulSeconds = matmulNanos / 1e9;
        return new Result(steps, batchSize, r.trainTokens(), padded, trainSeconds, matmulSeconds, gflop);
    }

    /** n examples starting at {@code from}, wrapping around; labels folded to 0/1 (the head size is irrelevant here). */
    private static EncodedExamples cycle(EncodedExamples d, int from, int n) {
        List<long[]> ids = new ArrayList<>(n);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int k = (from + i) % d.size();
            ids.add(d.ids().get(k));
            labels[i] = Math.min(d.labels()[k], 1);
        }
        return new EncodedExamples(ids, labels);
    }
}
