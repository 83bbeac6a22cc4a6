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
import java.util.List;
import java.util.Random;

/**
 * Fine-tunes a classifier on frozen base weights (full precision or one quantization configuration):
 * LoRA on every quantized matrix plus the head, or the head alone. This is the per-configuration
 * (QLoRA-style) baseline: one such run per configuration.
 */
public final class FineTuner {

    public record EpochReport(int epoch, double trainLoss, double validationAccuracy, double seconds) {}

    /**
     * Outcome of one run; {@code testCorrect} per test example (for paired comparisons), {@code batchShapes}
     * the (examples, padded length) of every training step (for the throughput benchmark).
     */
    public record Result(double validationAccuracy, double testAccuracy, double trainSeconds, long trainTokens,
                         List<EpochReport> epochs, boolean[] testCorrect, List<int[]> batchShapes, int skippedSteps) {
        public double tokensPerSecond() { return trainTokens / trainSeconds; }
    }

    private final BertEncoder encoder;
    private final int numLabels;

    public FineTuner(BertEncoder encoder, int numLabels) {
        this.encoder = encoder;
        this.numLabels = numLabels;
    }

    public Result run(BaseWeights base, FineTuneSettings settings, EncodedExamples train, EncodedExamples validation,
                      EncodedExamples test, Progress progress) {
        return fit(base, settings, train, validation, test, progress);
    }

    /** Training steps only, no evaluation: what the throughput benchmark times. */
    public Result runTrainingOnly(BaseWeights base, FineTuneSettings settings, EncodedExamples train, Progress progress) {
        return fit(base, settings, train, null, null, progress);
    }

    private Result fit(BaseWeights base, FineTuneSettings settings, EncodedExamples train, EncodedExamples validation,
                       EncodedExamples test, Progress progress) {
        try (NDManager manager = encoder.manager().newSubManager();
             ClassifierHead head = new ClassifierHead(encoder.config().hiddenSize(), numLabels, settings.seed(), manager);
             LoraAdapter lora = settings.lora() == null ? null
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
                double trainSeconds = 0;
                int step = 0;
                for (int epoch = 1; epoch <= settings.epochs(); epoch++) {
                    long start = System.nanoTime();
                    int[] order = permutation(train.size(), shuffle);
                    double lossSum = 0;
                    for (int from = 0; from < train.size(); from += settings.batchSize(), step++) {
                        int to = Math.min(train.size(), from + settings.batchSize());
                        try (NDManager scope = manager.newSubManager()) {
                            TokenBatch batch = TokenBatch.of(train.ids(order, from, to), scope);
                            tokens += batch.realTokens();
                            batchShapes.add(new int[] {batch.size(), batch.length()});
                            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                                NDArray loss = SentenceClassifier.crossEntropy(classifier.logits(batch, base, lora),
                                        train.labels(order, from, to));
                                gc.backward(loss);
                                float l = loss.getFloat();
                                if (Float.isFinite(l)) lossSum += l * (to - from);
                            }
                            optimizer.step(settings.learningRateAt(step, totalSteps));
                        }
                        progress.update("epoch " + epoch + "/" + settings.epochs(), to, train.size());
                    }
                    double seconds = (System.nanoTime() - start) / 1e9;
                    trainSeconds += seconds;
                    double valAcc = validation == null ? Double.NaN : accuracy(classifier, base, lora, validation, null);
                    epochs.add(new EpochReport(epoch, lossSum / train.size(), valAcc, seconds));
                }
                boolean[] testCorrect = new boolean[test == null ? 0 : test.size()];
                double testAcc = test == null ? Double.NaN : accuracy(classifier, base, lora, test, testCorrect);
                return new Result(epochs.get(epochs.size() - 1).validationAccuracy(), testAcc, trainSeconds, tokens,
                        epochs, testCorrect, batchShapes, optimizer.skippedSteps());
            }
        }
    }

    /** Accuracy on a split; fills {@code correct} per example when given. */
    public static double accuracy(SentenceClassifier classifier, BaseWeights base, Adapter adapter,
                                  EncodedExamples data, boolean[] correct) {
        int hits = 0, batchSize = 64;
        int[] order = new int[data.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        for (int from = 0; from < data.size(); from += batchSize) {
            int to = Math.min(data.size(), from + batchSize);
            try (NDManager scope = classifier.encoder().manager().newSubManager()) {
                TokenBatch batch = TokenBatch.of(data.ids(order, from, to), scope);
                long[] predicted = classifier.logits(batch, base, adapter).argMax(1).toLongArray();
                for (int i = from; i < to; i++) {
                    boolean ok = predicted[i - from] == data.labels()[i];
                    if (ok) hits++;
                    if (correct != null) correct[i] = ok;
                }
            }
        }
        return data.size() == 0 ? Double.NaN : (double) hits / data.size();
    }

    private static int[] permutation(int n, Random random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i]; p[i] = p[j]; p[j] = t;
        }
        return p;
    }
}
