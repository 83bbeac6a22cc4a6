package ai.coalora.fleet.planning;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;

/**
 * What a version's front predicts for each configuration and what its devices measure, and which way is better:
 * an encoder classifier's accuracy (higher is better) or a decoder's perplexity (lower is better). Every decision that
 * compares qualities asks the measure (the planner's best-first order, the rollout gate, the retraining trigger), so
 * none of them special-cases a kind of model.
 *
 * <p>How far a measurement falls short of its prediction is read in the measure's own terms: accuracy in absolute
 * points below the prediction (0.05 = five points), perplexity as a ratio above it (0.05 = 5% higher). A margin is
 * in the same terms, so one margin setting reads sensibly for both.
 */
public enum QualityMeasure {
    /** Share of held-out examples classified correctly: higher is better; shortfall in points. */
    ACCURACY("accuracy", true),
    /** exp of the mean next-token cross entropy on held-out text: lower is better; shortfall as a ratio. */
    PERPLEXITY("perplexity", false);

    private final String jsonName;
    private final boolean higherIsBetter;

    QualityMeasure(String jsonName, boolean higherIsBetter) {
        this.jsonName = jsonName;
        this.higherIsBetter = higherIsBetter;
    }

    /** The name in events and the API: "accuracy", "perplexity". */
    @JsonValue
    public String jsonName() {
        return jsonName;
    }

    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    /** The measure named {@code name}, or an IllegalArgumentException listing the names there are. */
    @JsonCreator
    public static QualityMeasure fromJson(String name) {
        for (QualityMeasure m : values()) if (m.jsonName.equals(name)) return m;
        throw new IllegalArgumentException("unknown quality measure '" + name + "'; known: "
                + Arrays.stream(values()).map(QualityMeasure::jsonName).toList());
    }

    /** What fronts and telemetry that name no measure were written in: everything before perplexity fronts. */
    public static QualityMeasure orDefault(QualityMeasure m) {
        return m == null ? ACCURACY : m;
    }

    /** Orders qualities best first. */
    public Comparator<Double> bestFirst() {
        return higherIsBetter ? Comparator.<Double>reverseOrder() : Comparator.<Double>naturalOrder();
    }

    /** Whether {@code a} is strictly better than {@code b}. */
    public boolean better(double a, double b) {
        return higherIsBetter ? a > b : a < b;
    }

    /**
     * How far {@code measured} falls short of {@code predicted}: accuracy, points below; perplexity, the ratio above 1.
     * At most 0 when the devices do as well as predicted or better.
     */
    public double shortfall(double measured, double predicted) {
        if (!(Double.isFinite(measured) && Double.isFinite(predicted)))
            throw new IllegalArgumentException(jsonName + ": measured " + measured + " and predicted " + predicted);
        if (higherIsBetter) return predicted - measured;
        if (!(predicted > 0)) throw new IllegalArgumentException("perplexity must be positive, predicted " + predicted);
        return measured / predicted - 1;
    }

    /**
     * The shortfall in words, for reasons people read: "0.1006 below" (accuracy points), "12.5% above" (perplexity).
     */
    public String shortfallText(double measured, double predicted) {
        double s = shortfall(measured, predicted);
        return higherIsBetter
                ? String.format(Locale.ROOT, "%.4f below", s)
                : String.format(Locale.ROOT, "%.1f%% above", 100 * s);
    }

    /** A margin in words, in the same terms: "0.05" (points), "5.0%" (ratio). */
    public String marginText(double margin) {
        return higherIsBetter
                ? String.format(Locale.ROOT, "%.2f", margin)
                : String.format(Locale.ROOT, "%.1f%%", 100 * margin);
    }

    /** The rule the rollout gate and the retraining trigger share: the shortfall exceeds the margin. */
    public boolean fallsShort(double measured, double predicted, double margin) {
        return shortfall(measured, predicted) > margin;
    }
}
