package ai.coalora.engine.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The fixed seeded split: shuffle with {@code new Random(seed)}, then the first 70% is train, the next
 * 10% validation, the rest (about 20%) test. Train and validation sizes are rounded down, so for
 * {@code n} examples: train = floor(0.7n), validation = floor(0.1n), test = n - train - validation.
 */
final class Splits {
    static final long DEFAULT_SEED = 42;

    record Split(List<Example> train, List<Example> validation, List<Example> test) {}

    private Splits() {}

    /** {@code examples} must already be in a deterministic order; the split depends on it. */
    static Split split(List<Example> examples, long seed) {
        List<Example> shuffled = new ArrayList<>(examples);
        Collections.shuffle(shuffled, new Random(seed));
        int n = shuffled.size();
        // Integer arithmetic keeps the sizes exact (0.7 * n in floating point can land just below an integer).
        int train = (int) (n * 7L / 10);
        int validation = (int) (n / 10L);
        return new Split(
                List.copyOf(shuffled.subList(0, train)),
                List.copyOf(shuffled.subList(train, train + validation)),
                List.copyOf(shuffled.subList(train + validation, n)));
    }
}
