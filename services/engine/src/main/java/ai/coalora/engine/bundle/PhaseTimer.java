package ai.coalora.engine.bundle;

import ai.coalora.engine.ProcessMemory;
import ai.coalora.engine.coa.CoaTrainer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Wall time of a bundle's training by phase, in the order the phases ran. Each mark gives the phase the time
 * elapsed since the previous mark (or the timer's creation), so the phases add up to the wall time since then:
 * nothing falls between two phases. Shared by the encoder and the decoder bundles.
 */
public final class PhaseTimer {
    /** Reading the data and the model. */
    public static final String LOADING = "loading";
    /** Tokenizing the splits (encoder) or cutting them into windows (decoder). */
    public static final String ENCODING = "encoding";
    /** Calibration, the quantization error tables and the initial set. */
    public static final String CALIBRATION = "calibration";
    /** CoA-LoRA training steps (the trainer's wall time less the search's measuring). */
    public static final String TRAINING = "training";
    /** The search measuring configurations between epochs. */
    public static final String SEARCH = "search";
    /** Scoring the final training set on the validation split. */
    public static final String FRONT = "front";
    /** Serializing and writing the bundle. */
    public static final String WRITING = "writing";

    private final Map<String, Double> seconds = new LinkedHashMap<>();
    private final Map<String, Long> peakBytes = new LinkedHashMap<>();
    private final boolean memory;
    private long last = System.nanoTime();

    public PhaseTimer() {
        this(false);
    }

    private PhaseTimer(boolean memory) {
        this.memory = memory;
        if (memory) ProcessMemory.resetPeak();
    }

    /**
     * A timer that also records each phase's peak resident memory ({@link ProcessMemory}: the process's peak since the
     * previous mark, which starts a new one); for benchmarks, as it resets the process's peak at every mark.
     */
    public static PhaseTimer withPeakMemory() {
        return new PhaseTimer(true);
    }

    /** Gives {@code phase} the time since the previous mark; a phase marked twice adds up. */
    public synchronized void mark(String phase) {
        add(phase, lap());
    }

    /** Marks CoA training: the trainer's measuring between epochs goes to {@link #SEARCH}, the rest to {@link #TRAINING}. */
    synchronized void markTraining(CoaTrainer.Result result) {
        double search = result.epochs().stream()
                .mapToDouble(CoaTrainer.EpochReport::policySeconds)
                .sum();
        double wall = lap();
        add(TRAINING, Math.max(0, wall - search));
        add(SEARCH, Math.min(wall, search));
    }

    private double lap() {
        long now = System.nanoTime();
        double s = (now - last) / 1e9;
        last = now;
        return s;
    }

    private void add(String phase, double s) {
        seconds.merge(phase, s, Double::sum);
        if (memory) {
            peakBytes.merge(phase, ProcessMemory.peakBytes(), Math::max);
            ProcessMemory.resetPeak();
        }
    }

    /** Peak resident bytes by phase (empty unless {@link #withPeakMemory()}; -1 where it cannot be read). */
    public synchronized Map<String, Long> peakBytes() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(peakBytes));
    }

    /** Seconds by phase so far, in run order, rounded to milliseconds (what the manifest records). */
    public synchronized Map<String, Double> seconds() {
        Map<String, Double> out = new LinkedHashMap<>();
        seconds.forEach((phase, s) -> out.put(phase, Math.round(s * 1000) / 1000.0));
        return Collections.unmodifiableMap(out);
    }

    /** The phases' sum: the wall time from the timer's creation to the last mark. */
    public synchronized double total() {
        return seconds.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    /** One line, e.g. {@code loading 4.1 s, encoding 0.1 s, ...}. */
    public static String format(Map<String, Double> phaseSeconds) {
        StringJoiner j = new StringJoiner(", ");
        phaseSeconds.forEach(
                (phase, s) -> j.add(String.format(Locale.ROOT, s < 10 ? "%s %.1f s" : "%s %.0f s", phase, s)));
        return j.toString();
    }
}
