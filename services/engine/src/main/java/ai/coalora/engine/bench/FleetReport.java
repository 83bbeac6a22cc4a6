package ai.coalora.engine.bench;

import ai.coalora.engine.bench.PaperBenchmark.Evaluation;
import ai.coalora.engine.bench.PaperBenchmark.MethodResult;
import ai.coalora.engine.bench.PaperBenchmark.SeedRun;
import ai.coalora.engine.bench.PaperBenchmark.Served;
import ai.coalora.engine.bench.PaperBenchmark.TaskResult;
import ai.coalora.engine.stats.PairedBootstrap;
import ai.coalora.engine.stats.PairedBootstrap.Estimate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The fleet metric and the decision rules, over every seed: F is the mean test accuracy of what a method serves the
 * fleet's devices, F_low the same over the low-bit devices; the two unseen families are integer-only allocations and
 * budget-optimal allocations at budgets no training set holds. Every mean and difference carries a 95% interval from
 * the paired bootstrap over training seeds and test examples ({@link PairedBootstrap#seedsAndExamples}).
 *
 * <p>The decision rules, fixed before any run:
 * <ul>
 *   <li>(a) F_low(CoA) - F_low(Shared-LoRA) > 0 with the interval excluding 0;</li>
 *   <li>(b) F(CoA) - F(per-configuration staircase) >= 0 with the interval's lower bound above -0.5 points;</li>
 *   <li>(c) CoA's accuracy on the unseen integer-only configurations within 0.5 points of per-configuration LoRA trained
 *       on them (the oracle): the point estimate of the difference >= -0.5 points;</li>
 *   <li>(d) CoA's training time, search included, at most 0.5x the per-configuration runs on the seen budgets;</li>
 *   <li>(f) the search against the frozen set on F, reported with its interval (no threshold);</li>
 *   <li>(g) F(CoA) - F(Shared-LoRA): the network stays on by default unless this is below 0 with the interval excluding
 *       0 on a task.</li>
 * </ul>
 * "CoA" is each configuration-aware method that ran; the product's is the last of the table.
 */
public final class FleetReport {
    private static final long BOOTSTRAP_SEED = 11;

    /** One method's fleet numbers, each over seeds and examples. */
    public record Row(
            Method method,
            Estimate fleet,
            Estimate fleetLow,
            Estimate fleetLowValidation,
            Estimate unseenIntegerOnly,
            Estimate unseenOptimal,
            double trainSeconds) {}

    /** One decision rule, measured. */
    public record Verdict(String rule, Method method, String measured, boolean met) {}

    private FleetReport() {}

    public static List<Row> rows(TaskResult t) {
        PairedBootstrap bootstrap = new PairedBootstrap(BOOTSTRAP_SEED);
        List<Row> rows = new ArrayList<>();
        for (Method m : t.settings().methods()) {
            rows.add(new Row(
                    m,
                    bootstrap.seedsAndExamples(perSeed(t, m, r -> fleetScores(r.fleet(), t, false, false))),
                    bootstrap.seedsAndExamples(perSeed(t, m, r -> fleetScores(r.fleet(), t, true, false))),
                    bootstrap.seedsAndExamples(perSeed(t, m, r -> fleetScores(r.fleet(), t, true, true))),
                    bootstrap.seedsAndExamples(perSeed(t, m, r -> mean(unseen(r, t)))),
                    m == Method.PER_CONFIGURATION
                            ? null
                            : bootstrap.seedsAndExamples(perSeed(t, m, r -> mean(r.unseenOptimal()))),
                    t.seeds().stream()
                            .mapToDouble(s -> s.method(m).trainSeconds())
                            .average()
                            .orElse(Double.NaN)));
        }
        return rows;
    }

    /** The decision rules for every configuration-aware method, as far as the methods they compare against ran. */
    public static List<Verdict> verdicts(TaskResult t) {
        PairedBootstrap bootstrap = new PairedBootstrap(BOOTSTRAP_SEED);
        List<Verdict> out = new ArrayList<>();
        boolean shared = t.settings().runs(Method.SHARED_LORA),
                perConfig = t.settings().runs(Method.PER_CONFIGURATION);
        for (Method m : t.settings().methods()) {
            if (!m.configAware()) continue;
            if (shared) {
                Estimate d =
                        difference(bootstrap, t, m, Method.SHARED_LORA, r -> fleetScores(r.fleet(), t, true, false));
                out.add(new Verdict(
                        "(a) F_low - F_low(Shared-LoRA) > 0, interval excluding 0", m, points(d), d.low() > 0));
                Estimate f =
                        difference(bootstrap, t, m, Method.SHARED_LORA, r -> fleetScores(r.fleet(), t, false, false));
                out.add(new Verdict(
                        "(g) F - F(Shared-LoRA) not below 0 with an interval excluding 0 (the defaults rule)",
                        m,
                        points(f),
                        f.high() >= 0));
            }
            if (perConfig) {
                Estimate d = difference(
                        bootstrap, t, m, Method.PER_CONFIGURATION, r -> fleetScores(r.fleet(), t, false, false));
                out.add(new Verdict(
                        "(b) F - F(per-configuration staircase) >= 0, lower bound > -0.5",
                        m,
                        points(d),
                        d.value() >= 0 && d.low() > -0.005));
                Estimate u = difference(bootstrap, t, m, Method.PER_CONFIGURATION, r -> mean(unseen(r, t)));
                out.add(new Verdict(
                        "(c) unseen integer-only within 0.5 points of the per-configuration oracle",
                        m,
                        points(u),
                        u.value() >= -0.005));
                double ratio = timeRatio(t, m);
                out.add(new Verdict(
                        "(d) training time <= 0.5x the per-configuration runs",
                        m,
                        String.format(Locale.ROOT, "%.2fx", ratio),
                        ratio <= 0.5));
            }
        }
        if (t.settings().runs(Method.COA_SEARCH) && t.settings().runs(Method.COA_FROZEN)) {
            Estimate d = difference(
                    bootstrap, t, Method.COA_SEARCH, Method.COA_FROZEN, r -> fleetScores(r.fleet(), t, false, false));
            out.add(new Verdict("(f) search vs frozen set on F (reported)", Method.COA_SEARCH, points(d), d.low() > 0));
        }
        return out;
    }

    /** Mean training time over seeds, relative to the per-configuration runs on the seen budgets. */
    static double timeRatio(TaskResult t, Method m) {
        double ours = 0, theirs = 0;
        for (SeedRun s : t.seeds()) {
            ours += s.method(m).trainSeconds();
            theirs += s.method(Method.PER_CONFIGURATION).trainSeconds();
        }
        return ours / theirs;
    }

    public static String markdown(TaskResult t) {
        StringBuilder out = new StringBuilder();
        BenchSettings s = t.settings();
        out.append(String.format(
                Locale.ROOT,
                "#### %s: the fleet (%d devices, budgets %.2f-%.2f bits; F_low: up to %.2f bits), %d seed%s%n%n",
                t.task(),
                s.fleetBudgets().size(),
                s.fleetBudgets().get(0),
                s.fleetBudgets().get(s.fleetBudgets().size() - 1),
                s.fleetLowMax(),
                t.seeds().size(),
                t.seeds().size() == 1 ? "" : "s"));
        out.append(
                "| method | F | F_low | F_low (validation) | unseen integer-only | unseen budget-optimal | training time |\n");
        out.append("|---|---|---|---|---|---|---|\n");
        for (Row r : rows(t)) {
            out.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %s | %s | %s | %s | %.0f s |%n",
                    r.method().label,
                    pct(r.fleet()),
                    pct(r.fleetLow()),
                    pct(r.fleetLowValidation()),
                    pct(r.unseenIntegerOnly()),
                    r.unseenOptimal() == null ? "-" : pct(r.unseenOptimal()),
                    r.trainSeconds()));
        }
        out.append(
                        "\nAccuracies in points, mean over seeds, with 95% intervals from a paired bootstrap over training seeds and test ")
                .append(
                        "examples. Per-configuration LoRA serves each device the adapter of the largest trained budget that fits; the shared ")
                .append(
                        "methods serve the budget-optimal allocation at the device's budget, or a cheaper candidate whose validation ")
                .append("accuracy is higher by more than the paired standard error. F_low (validation) scores the ")
                .append(
                        "served configurations on the validation split, which chose them: for comparing recipes, never for the verdicts.\n\n");
        out.append("Decision rules:\n");
        for (Verdict v : verdicts(t)) {
            out.append(String.format(
                    "- %s, %s: %s — %s%n", v.rule(), v.method().label, v.measured(), v.met() ? "met" : "missed"));
        }
        return out.toString();
    }

    public static Map<String, Object> json(TaskResult t) {
        Map<String, Object> out = new LinkedHashMap<>();
        List<Object> rows = new ArrayList<>();
        for (Row r : rows(t)) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("method", r.method().jsonName());
            row.put("fleet", estimate(r.fleet()));
            row.put("fleetLow", estimate(r.fleetLow()));
            row.put("fleetLowValidation", estimate(r.fleetLowValidation()));
            row.put("unseenIntegerOnly", estimate(r.unseenIntegerOnly()));
            row.put("unseenOptimal", r.unseenOptimal() == null ? null : estimate(r.unseenOptimal()));
            row.put("meanTrainSeconds", r.trainSeconds());
            rows.add(row);
        }
        out.put("methods", rows);
        out.put(
                "verdicts",
                verdicts(t).stream()
                        .map(v -> Map.of(
                                "rule",
                                v.rule(),
                                "method",
                                v.method().jsonName(),
                                "measured",
                                v.measured(),
                                "met",
                                v.met()))
                        .toList());
        return out;
    }

    private static Estimate difference(
            PairedBootstrap bootstrap, TaskResult t, Method a, Method b, Function<MethodResult, double[]> score) {
        List<double[]> as = perSeed(t, a, score), bs = perSeed(t, b, score);
        List<double[]> net = new ArrayList<>();
        for (int k = 0; k < as.size(); k++) {
            double[] d = new double[as.get(k).length];
            for (int i = 0; i < d.length; i++) d[i] = as.get(k)[i] - bs.get(k)[i];
            net.add(d);
        }
        return bootstrap.seedsAndExamples(net);
    }

    private static List<double[]> perSeed(TaskResult t, Method m, Function<MethodResult, double[]> score) {
        return t.seeds().stream().map(s -> score.apply(s.method(m))).toList();
    }

    /** Per example, the mean over (low-bit) devices of whether the served configuration got it right. */
    static double[] fleetScores(List<Served> fleet, TaskResult t, boolean lowOnly, boolean validation) {
        List<boolean[]> chosen = new ArrayList<>();
        for (Served d : fleet) {
            if (lowOnly && d.budget() > t.settings().fleetLowMax() + 1e-9) continue;
            chosen.add(validation ? d.validationCorrect() : d.testCorrect());
        }
        return meanOf(chosen);
    }

    private static List<Evaluation> unseen(MethodResult r, TaskResult t) {
        return r.evaluations().subList(t.seen().size(), r.evaluations().size());
    }

    private static double[] mean(List<Evaluation> evaluations) {
        return meanOf(evaluations.stream().map(Evaluation::testCorrect).toList());
    }

    private static double[] meanOf(List<boolean[]> correct) {
        if (correct.isEmpty()) throw new IllegalArgumentException("nothing to average");
        double[] out = new double[correct.get(0).length];
        for (boolean[] c : correct) for (int i = 0; i < out.length; i++) if (c[i]) out[i] += 1.0 / correct.size();
        return out;
    }

    private static Map<String, Object> estimate(Estimate e) {
        return Map.of("value", e.value(), "low", e.low(), "high", e.high());
    }

    private static String pct(Estimate e) {
        return String.format(Locale.ROOT, "%.1f [%.1f, %.1f]", 100 * e.value(), 100 * e.low(), 100 * e.high());
    }

    private static String points(Estimate e) {
        return String.format(
                Locale.ROOT, "%+.2f [%+.2f, %+.2f] points", 100 * e.value(), 100 * e.low(), 100 * e.high());
    }
}
