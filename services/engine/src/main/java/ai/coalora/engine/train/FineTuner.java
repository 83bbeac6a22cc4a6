package ai.coalora.engine.train;

import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.TokenBatch;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Fine-tunes a classifier on frozen base weights (full precision or one quantization configuration):
 * LoRA on every quantized matrix plus the head, or the head alone. This is the per-configuration
 * (QLoRA-style) baseline: one such run per configuration.
 */
public final class FineTuner {

    /** Tries per step before a step whose gradient stays non-finite is skipped. */
    static final int MAX_ATTEMPTS = 3;

    public record EpochReport(int epoch, double trainLoss, double validationAccuracy, double seconds) {}

    /**
     * Outcome of one run; {@code testCorrect} per test example (for paired comparisons), {@code batchShapes}
     * the (examples, padded length) of every training step (for the throughput benchmark),
     * {@code recomputedSteps} how often a non-finite gradient was thrown away and the step recomputed,
     * {@code skippedSteps} how many steps still had none after {@value #MAX_ATTEMPTS} tries.
     */
    public record Result(
            double validationAccuracy,
            double testAccuracy,
            double trainSeconds,
            long trainTokens,
            List<EpochReport> epochs,
            boolean[] testCorrect,
            List<int[]> batchShapes,
            int recomputedSteps,
            int skippedSteps) {
        public double tokensPerSecond() {
            return trainTokens / trainSeconds;
        }
    }

    private final BertEncoder encoder;
    private final int numLabels;

    public FineTuner(BertEncoder encoder, int numLabels) {
        this.encoder = encoder;
        this.numLabels = numLabels;
    }

    public Result run(
            BaseWeights base,
            FineTuneSettings settings,
            EncodedExamples train,
            EncodedExamples validation,
            EncodedExamples test,
            Progress progress) {
        return fit(base, settings, train, validation, test, progress);
    }

    /** Training steps only, no evaluation: what the throughput benchmark times. */
    public Result runTrainingOnly(
            BaseWeights base, FineTuneSettings settings, EncodedExamples train, Progress progress) {
        return fit(base, settings, train, null, null, progress);
    }

    private Result fit(
            BaseWeights base,
            FineTuneSettings settings,
            EncodedExamples train,
            EncodedExamples validation,
            EncodedExamples test,
            Progress progress) {
        try (NDManager manager = encoder.manager().newSubManager();
                ClassifierHead head =
                        new ClassifierHead(encoder.config().hiddenSize(), numLabels, settings.seed(), manager);
                LoraAdapter lora = settings.lora() == null
                        ? null
                        : LoraAdapter.initialize(encoder, settings.lora(), settings.seed() + 1, manager)) {
            SentenceClassifier classifier = new SentenceClassifier(encoder, head);
            List<NDArray> params = new ArrayList<>(head.parameters());
            if (lora != null) params.addAll(lora.parameters());
            try (AdamW optimizer = new AdamW(params, settings.weightDecay(), settings.clipNorm(), manager)) {
                int stepsPerEpoch = (train.size() + settings.batchSize() - 1) / settings.batchSize();
                int totalSteps = stepsPerEpoch * settings.epochs();
                Random shuffle = new Random(settings.seed());
                List<EpochReport> epochs = new ArrayList<>();
                long tokens = 0;
                List<int[]> batchShapes = new ArrayList<>();
                int skipped = 0;
                double trainSeconds = 0;
                int step = 0;
                for (int epoch = 1; epoch <= settings.epochs(); epoch++) {
                    long start = System.nanoTime();
                    double lossSum = 0;
                    int done = 0;
                    for (int[] batchIndices : lengthBucketedBatches(train, settings.batchSize(), shuffle)) {
                        try (NDManager scope = manager.newSubManager()) {
                            TokenBatch batch = TokenBatch.of(train.ids(batchIndices, 0, batchIndices.length), scope);
                            tokens += batch.realTokens();
                            batchShapes.add(new int[] {batch.size(), batch.length()});
                            int[] labels = train.labels(batchIndices, 0, batchIndices.length);
                            float lr = settings.learningRateAt(step++, totalSteps);
                            // a rare non-finite gradient comes from a multithreaded native kernel, not from the
                            // data (see docs/results.md, known issue): recompute the step rather than lose the batch
                            for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
                                float l;
                                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                                    NDArray loss = SentenceClassifier.crossEntropy(
                                            classifier.logits(batch, base, lora), labels);
                                    gc.backward(loss);
                                    l = loss.getFloat();
                                }
                                if (Float.isFinite(optimizer.step(lr))) {
                                    lossSum += l * batchIndices.length;
                                    break;
                                }
                                if (attempt == MAX_ATTEMPTS) skipped++;
                            }
                        }
                        done += batchIndices.length;
                        progress.update("epoch " + epoch + "/" + settings.epochs(), done, train.size());
                    }
                    double seconds = (System.nanoTime() - start) / 1e9;
                    trainSeconds += seconds;
                    double valAcc =
                            validation == null ? Double.NaN : accuracy(classifier, base, lora, validation, null);
                    epochs.add(new EpochReport(epoch, lossSum / train.size(), valAcc, seconds));
                }
                boolean[] testCorrect = new boolean[test == null ? 0 : test.size()];
                double testAcc = test == null ? Double.NaN : accuracy(classifier, base, lora, test, testCorrect);
                return new Result(
                        epochs.get(epochs.size() - 1).validationAccuracy(),
                        testAcc,
                        trainSeconds,
                        tokens,
                        epochs,
                        testCorrect,
                        batchShapes,
                        optimizer.rejectedGradients(),
                        skipped);
            }
        }
    }

    /** Accuracy and mean cross-entropy of a classifier on a split. */
    public record Scores(double accuracy, double loss) {}

    /** Accuracy on a split; fills {@code correct} per example when given. */
    public static double accuracy(
            SentenceClassifier classifier, BaseWeights base, Adapter adapter, EncodedExamples data, boolean[] correct) {
        return evaluate(classifier, base, adapter, data, correct).accuracy();
    }

    /** Accuracy and loss from one forward pass over the split; fills {@code correct} per example when given. */
    public static Scores evaluate(
            SentenceClassifier classifier, BaseWeights base, Adapter adapter, EncodedExamples data, boolean[] correct) {
        if (data.size() == 0) return new Scores(Double.NaN, Double.NaN);
        int hits = 0, batchSize = 64;
        double lossSum = 0;
        int[] order = data.lengthOrder();
        for (int from = 0; from < data.size(); from += batchSize) {
            int to = Math.min(data.size(), from + batchSize);
            try (NDManager scope = classifier.encoder().manager().newSubManager()) {
                TokenBatch batch = TokenBatch.of(data.ids(order, from, to), scope);
                NDArray logits = classifier.logits(batch, base, adapter);
                lossSum += SentenceClassifier.crossEntropy(logits, data.labels(order, from, to))
                                .getFloat()
                        * (to - from);
                long[] predicted = logits.argMax(1).toLongArray();
                for (int i = from; i < to; i++) {
                    boolean ok = predicted[i - from] == data.labels()[order[i]];
                    if (ok) hits++;
                    if (correct != null) correct[order[i]] = ok;
                }
            }
        }
        return new Scores((double) hits / data.size(), lossSum / data.size());
    }

    /**
     * Random batches of similar length: shuffle, sort each window of 16 batches' worth of examples by
     * length, cut it into batches, then shuffle the batch order. Padding (wasted matmul work) drops
     * about threefold on the sentiment data while every epoch still sees every example once.
     */
    public static List<int[]> lengthBucketedBatches(EncodedExamples data, int batchSize, Random random) {
        int[] order = permutation(data.size(), random);
        int window = batchSize * 16;
        List<int[]> batches = new ArrayList<>();
        for (int from = 0; from < order.length; from += window) {
            int to = Math.min(order.length, from + window);
            Integer[] chunk = new Integer[to - from];
            for (int i = from; i < to; i++) chunk[i - from] = order[i];
            Arrays.sort(chunk, Comparator.comparingInt(i -> data.ids().get(i).length));
            for (int b = 0; b < chunk.length; b += batchSize) {
                int[] batch = new int[Math.min(batchSize, chunk.length - b)];
                for (int i = 0; i < batch.length; i++) batch[i] = chunk[b + i];
                batches.add(batch);
            }
        }
        Collections.shuffle(batches, random);
        return batches;
    }

    private static int[] permutation(int n, Random random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
