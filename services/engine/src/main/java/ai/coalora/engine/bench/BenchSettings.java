package ai.coalora.engine.bench;

import ai.coalora.engine.train.FineTuneSettings;
import java.util.List;

/**
 * Scale of the paper benchmark. Every method gets the same data, epochs, optimiser and LoRA spec.
 *
 * @param trainLimit      training examples per task (a seeded sample when the split is larger)
 * @param testLimit       test examples per task (0: the whole split)
 * @param maxLength       tokens per example after truncation
 * @param initialGrid     budgets of the initial training set, evenly spaced over 2.25..7.25 (paper: 50)
 * @param segments        bit segments U of the search's selection (paper: 40)
 * @param evaluationBatch validation examples of the search's fixed evaluation batch
 * @param candidates      new configurations the search (or random extension) evaluates per epoch
 * @param seenBudgets     budgets of the per-configuration baseline (their allocations join the training set)
 * @param unseenBudgets   budgets of configurations no method trains on (integer-only allocations)
 * @param emissionSamples configurations folded to time adapter emission
 */
public record BenchSettings(boolean quick, int trainLimit, int testLimit, int maxLength, FineTuneSettings training,
                            int initialGrid, int segments, int evaluationBatch, int candidates,
                            List<Double> seenBudgets, List<Double> unseenBudgets, int emissionSamples) {

    /** The comparison at this machine's scale: both tasks, 6 seen and 6 unseen configurations, 3 epochs. */
    public static BenchSettings full() {
        return new BenchSettings(false, 1000, 0, 40, FineTuneSettings.defaults(), 50, 40, 128, 16,
                List.of(2.5, 3.0, 3.5, 4.0, 4.5, 5.0), List.of(2.75, 3.25, 3.75, 4.25, 4.75, 5.25), 200);
    }

    /** A few minutes: small samples, one epoch, 3 seen and 3 unseen configurations; exercises every code path. */
    public static BenchSettings quickRun() {
        return new BenchSettings(true, 256, 200, 48, FineTuneSettings.defaults().withEpochs(2), 8, 8, 64, 4,
                List.of(2.5, 3.5, 4.5), List.of(2.75, 3.75, 4.75), 50);
    }
}
