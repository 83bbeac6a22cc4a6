package ai.coalora.engine.bench;

import ai.coalora.engine.coa.TrainingSetPolicies;
import ai.coalora.engine.io.SvgPlot;
import ai.coalora.engine.search.Hypervolume;
import ai.coalora.engine.search.Objectives;
import ai.coalora.engine.stats.PairedBootstrap;
import ai.coalora.engine.stats.PairedBootstrap.Estimate;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns the measurements of {@link PaperBenchmark} into the paper's table: hypervolume, mean accuracy
 * gap vs per-configuration LoRA (seen and unseen configurations), training time, configurations served;
 * every accuracy and gap with a 95% paired-bootstrap interval over the test examples, and a flag where
 * the interval excludes zero; diagnostics of the networks; and the plots. {@link FleetReport} covers every seed.
 */
public final class PaperReport {
    /** Hypervolume reference point: worse than any observed point on both objectives (test error, average bits). */
    public static final double REFERENCE_ERROR = 1.0, REFERENCE_BITS = 9.0, MIN_BITS = 2.0;

    private static final long BOOTSTRAP_SEED = 7;
    private static final Map<Method, String> COLORS = Map.of(
            Method.PER_CONFIGURATION,
            "#444444",
            Method.SHARED_LORA,
            "#d62728",
            Method.COA_FROZEN,
            "#ff7f0e",
            Method.COA_RANDOM,
            "#9467bd",
            Method.COA_SEARCH,
            "#1f77b4",
            Method.COA_BLIND,
            "#8c564b");

    /** One row of the table. */
    public record Row(
            Method method,
            String configsServed,
            double hypervolume,
            Estimate seenAccuracy,
            Estimate unseenAccuracy,
            Estimate seenGap,
            Estimate unseenGap,
            int unseenVerified,
            double trainSeconds,
            double timeRatio) {}

    private PaperReport() {}

    /** Hypervolume of (test error, average bits) over a method's evaluated configurations, normalised to the box [0,1] x [2,9]. */
    public static double hypervolume(List<PaperBenchmark.Evaluation> evaluations) {
        List<Objectives> points = new ArrayList<>();
        for (PaperBenchmark.Evaluation e : evaluations)
            points.add(new Objectives(1 - e.accuracy(), e.config().averageBits()));
        return Hypervolume.of(points, new Objectives(REFERENCE_ERROR, REFERENCE_BITS))
                / (REFERENCE_ERROR * (REFERENCE_BITS - MIN_BITS));
    }

    public static List<Row> rows(PaperBenchmark.TaskResult t) {
        PairedBootstrap bootstrap = new PairedBootstrap(BOOTSTRAP_SEED);
        PaperBenchmark.MethodResult baseline = t.methods().get(0);
        int nSeen = t.seen().size();
        List<boolean[]> baseSeen = correct(baseline, 0, nSeen),
                baseUnseen = correct(baseline, nSeen, baseline.evaluations().size());
        List<Row> rows = new ArrayList<>();
        for (PaperBenchmark.MethodResult m : t.methods()) {
            int n = m.evaluations().size();
            List<boolean[]> seen = correct(m, 0, nSeen), unseen = correct(m, nSeen, n);
            int verified = (int) m.evaluations().subList(nSeen, n).stream()
                    .filter(e -> !e.seen())
                    .count();
            boolean isBaseline = m.method() == Method.PER_CONFIGURATION;
            rows.add(new Row(
                    m.method(),
                    m.configsServed(),
                    hypervolume(m.evaluations()),
                    bootstrap.meanAccuracy(seen),
                    bootstrap.meanAccuracy(unseen),
                    isBaseline ? null : bootstrap.meanDifference(seen, baseSeen),
                    isBaseline ? null : bootstrap.meanDifference(unseen, baseUnseen),
                    isBaseline ? n - nSeen : verified,
                    m.trainSeconds(),
                    m.trainSeconds() / baseline.trainSeconds()));
        }
        return rows;
    }

    private static List<boolean[]> correct(PaperBenchmark.MethodResult m, int from, int to) {
        return m.evaluations().subList(from, to).stream()
                .map(PaperBenchmark.Evaluation::testCorrect)
                .toList();
    }

    /** The markdown table and notes for one task. */
    public static String markdown(PaperBenchmark.TaskResult t) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(
                Locale.ROOT,
                "### %s (%d training examples, %d test examples; %d seen + %d unseen configurations)%n%n",
                t.task(),
                t.trainExamples(),
                t.testExamples(),
                t.seen().size(),
                t.unseen().size()));
        String base = t.methods().get(0).method() == Method.PER_CONFIGURATION
                ? "per-config"
                : t.methods().get(0).method().label;
        out.append("| method | configs served | hypervolume | accuracy seen | accuracy unseen | gap vs " + base
                + ", seen | gap vs " + base + ", unseen | training time | vs " + base + " |\n");
        out.append("|---|---|---|---|---|---|---|---|---|\n");
        List<Row> rows = rows(t);
        for (Row r : rows) {
            out.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %.4f | %s | %s | %s | %s | %.0f s | %.2fx |%n",
                    r.method().label,
                    r.configsServed(),
                    r.hypervolume(),
                    pct(r.seenAccuracy()),
                    pct(r.unseenAccuracy()),
                    gap(r.seenGap()),
                    gap(r.unseenGap()),
                    r.trainSeconds(),
                    r.timeRatio()));
        }
        out.append(
                        "\nAccuracies and gaps in points with 95% paired-bootstrap intervals over the test examples (2000 resamples); ")
                .append(
                        "* marks a gap whose interval excludes 0. Hypervolume of (test error, average bits) over the method's seen and unseen ")
                .append(String.format(
                        Locale.ROOT,
                        "configurations, reference point (error %.1f, %.1f bits), normalised by the box [0, %.1f] x [%.1f, %.1f] bits. ",
                        REFERENCE_ERROR,
                        REFERENCE_BITS,
                        REFERENCE_ERROR,
                        MIN_BITS,
                        REFERENCE_BITS))
                .append(
                        "Per-configuration training time counts the runs on the seen configurations; its unseen column comes from ")
                .append("one more fine-tune per unseen configuration (")
                .append(String.format(
                        Locale.ROOT,
                        "%.0f s more). Unseen configurations are integer-only allocations that no training set contains (checked per method).%n%n",
                        t.methods().get(0).extraSeconds()));
        out.append("| configuration | average bits |");
        for (PaperBenchmark.MethodResult m : t.methods())
            out.append(' ').append(m.method().label).append(" |");
        out.append("\n|---|---|").append("---|".repeat(t.methods().size())).append('\n');
        int n = t.methods().get(0).evaluations().size();
        for (int i = 0; i < n; i++) {
            PaperBenchmark.Evaluation first = t.methods().get(0).evaluations().get(i);
            out.append(String.format(
                    Locale.ROOT,
                    "| %s %d | %.3f |",
                    i < t.seen().size() ? "seen" : "unseen",
                    i < t.seen().size() ? i + 1 : i - t.seen().size() + 1,
                    first.config().averageBits()));
            for (PaperBenchmark.MethodResult m : t.methods()) {
                out.append(String.format(
                        Locale.ROOT, " %.1f |", 100 * m.evaluations().get(i).accuracy()));
            }
            out.append('\n');
        }
        PaperBenchmark.Emission e = t.emission();
        if (e != null) {
            out.append(String.format(
                    Locale.ROOT,
                    "%nAdapter emission (fold M into A, the last configuration-aware model): median %.2f ms over %d random "
                            + "configurations; one per-configuration fine-tune: %.1f s; ratio %.1e.%n",
                    e.medianMillis(),
                    e.samples(),
                    e.perConfigurationFineTuneSeconds(),
                    e.ratio()));
        }
        for (PaperBenchmark.MethodResult m : t.methods()) {
            if (m.method() == Method.PER_CONFIGURATION) continue;
            out.append(String.format(
                    Locale.ROOT,
                    "%s: %.0f s in all, of which %.0f s measuring configurations and searching; "
                            + "%d configurations trained on, %d quantized.%n",
                    m.method().label,
                    m.trainSeconds(),
                    m.policySeconds(),
                    m.trainingConfigurations(),
                    m.materializations()));
        }
        for (PaperBenchmark.MethodResult m : t.methods()) {
            for (TrainingSetPolicies.Round r : m.rounds()) {
                out.append(String.format(
                        Locale.ROOT,
                        "%s, after epoch %d: %d configurations measured (%d new candidates), %d candidates entered the "
                                + "next training set of %d, covering %d bit segments.%n",
                        m.method().label,
                        r.epoch(),
                        r.measured(),
                        r.candidates(),
                        r.candidatesSelected(),
                        r.setSize(),
                        r.segmentsCovered()));
            }
        }
        out.append('\n').append(diagnostics(t));
        return out.toString();
    }

    /** What the networks and the optimizer did, per method (first seed): gradient norms, M statistics, swap and headroom tests. */
    static String diagnostics(PaperBenchmark.TaskResult t) {
        StringBuilder out = new StringBuilder("Diagnostics (first seed):\n");
        for (PaperBenchmark.MethodResult m : t.methods()) {
            if (!m.epochs().isEmpty()) {
                out.append("- ").append(m.method().label).append(", mean gradient norm per epoch:");
                for (var e : m.epochs()) {
                    out.append(" epoch ").append(e.epoch()).append(' ');
                    out.append(String.join(
                                    ", ",
                                    e.gradientNorms().entrySet().stream()
                                            .map(g -> String.format(Locale.ROOT, "%s %.3g", g.getKey(), g.getValue()))
                                            .toList()))
                            .append(';');
                }
                out.append('\n');
            }
            PaperBenchmark.ThetaDiagnostics d = m.theta();
            if (d != null) {
                out.append(String.format(
                        Locale.ROOT,
                        "- %s: mean ||M - I|| %.4f, spread across configurations %.3f of it; swap test (each "
                                + "configuration's M replaced by the mean M): %.2f -> %.2f%n",
                        m.method().label,
                        d.distanceFromIdentity(),
                        d.spread(),
                        100 * d.ownAccuracy(),
                        100 * d.swappedAccuracy()));
            }
            for (PaperBenchmark.Headroom h : m.headroom()) {
                out.append(String.format(
                        Locale.ROOT,
                        "- headroom at %.3f bits: Shared-LoRA %.2f; %d more steps on that configuration alone %.2f, "
                                + "over the whole training set (control) %.2f: configuration-specific gain %+.2f%n",
                        h.config().averageBits(),
                        100 * h.sharedAccuracy(),
                        h.steps(),
                        100 * h.tunedAccuracy(),
                        100 * h.controlAccuracy(),
                        100 * h.specificGain()));
            }
        }
        return out.toString();
    }

    /** accuracy vs average bits per method; seen configurations filled, unseen hollow. */
    public static void plot(PaperBenchmark.TaskResult t, Path file) throws IOException {
        SvgPlot.Builder plot = SvgPlot.builder()
                .title("CoA-LoRA paper benchmark: " + t.task() + " (filled: seen, hollow: unseen)")
                .xLabel("average bits per weight")
                .yLabel("test accuracy");
        PairedBootstrap bootstrap = new PairedBootstrap(BOOTSTRAP_SEED);
        for (PaperBenchmark.MethodResult m : t.methods()) {
            List<SvgPlot.Point> seen = new ArrayList<>(), unseen = new ArrayList<>();
            for (int i = 0; i < m.evaluations().size(); i++) {
                PaperBenchmark.Evaluation e = m.evaluations().get(i);
                Estimate acc = bootstrap.accuracy(e.testCorrect());
                (i < t.seen().size() ? seen : unseen)
                        .add(new SvgPlot.Point(e.config().averageBits(), acc.value(), acc.low(), acc.high()));
            }
            plot.series(m.method().label + " (seen)", seen, true, COLORS.get(m.method()));
            plot.series(m.method().label + " (unseen)", unseen, false, COLORS.get(m.method()));
        }
        plot.build().write(file);
    }

    /** Everything measured, for --json. */
    public static Map<String, Object> json(PaperBenchmark.TaskResult t) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("task", t.task());
        out.put("trainExamples", t.trainExamples());
        out.put("testExamples", t.testExamples());
        out.put("initialTrainingSet", t.initialSetSize());
        out.put(
                "hypervolumeReference",
                Map.of(
                        "testError",
                        REFERENCE_ERROR,
                        "averageBits",
                        REFERENCE_BITS,
                        "normalisedBy",
                        List.of(List.of(0.0, REFERENCE_ERROR), List.of(MIN_BITS, REFERENCE_BITS))));
        List<Object> methods = new ArrayList<>();
        List<Row> rows = rows(t);
        for (int k = 0; k < rows.size(); k++) {
            Row r = rows.get(k);
            PaperBenchmark.MethodResult m = t.methods().get(k);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("method", r.method().jsonName());
            row.put("label", r.method().label);
            row.put("configsServed", r.configsServed());
            row.put("hypervolume", r.hypervolume());
            row.put("accuracySeen", estimate(r.seenAccuracy()));
            row.put("accuracyUnseen", estimate(r.unseenAccuracy()));
            row.put("gapSeen", r.seenGap() == null ? null : estimate(r.seenGap()));
            row.put("gapUnseen", r.unseenGap() == null ? null : estimate(r.unseenGap()));
            row.put("unseenVerified", r.unseenVerified());
            row.put("trainSeconds", r.trainSeconds());
            row.put("extraSeconds", m.extraSeconds());
            row.put("timeRatio", r.timeRatio());
            row.put("trainingConfigurations", m.trainingConfigurations());
            row.put("recomputedSteps", m.recomputedSteps());
            row.put("policySeconds", m.policySeconds());
            row.put("materializations", m.materializations());
            List<Object> configs = new ArrayList<>();
            for (int i = 0; i < m.evaluations().size(); i++) {
                PaperBenchmark.Evaluation e = m.evaluations().get(i);
                configs.add(Map.of(
                        "group",
                        i < t.seen().size() ? "seen" : "unseen",
                        "averageBits",
                        e.config().averageBits(),
                        "accuracy",
                        e.accuracy(),
                        "neverTrainedOn",
                        !e.seen()));
            }
            row.put("configurations", configs);
            row.put("searchRounds", m.rounds());
            row.put("epochs", m.epochs());
            row.put("theta", m.theta());
            row.put(
                    "headroom",
                    m.headroom().stream()
                            .map(h -> Map.of(
                                    "averageBits",
                                    h.config().averageBits(),
                                    "sharedAccuracy",
                                    h.sharedAccuracy(),
                                    "tunedAccuracy",
                                    h.tunedAccuracy(),
                                    "controlAccuracy",
                                    h.controlAccuracy(),
                                    "steps",
                                    h.steps()))
                            .toList());
            row.put(
                    "fleet",
                    m.fleet().stream()
                            .map(f -> {
                                Map<String, Object> d = new LinkedHashMap<>();
                                d.put("budget", f.budget());
                                d.put(
                                        "averageBits",
                                        f.config() == null ? null : f.config().averageBits());
                                d.put("testAccuracy", PaperBenchmark.accuracy(f.testCorrect()));
                                return d;
                            })
                            .toList());
            methods.add(row);
        }
        out.put("methods", methods);
        out.put("settings", t.settings());
        out.put("seeds", t.seeds().size());
        out.put("fleetStudy", FleetReport.json(t));
        PaperBenchmark.Emission e = t.emission();
        if (e != null)
            out.put(
                    "emission",
                    Map.of(
                            "samples",
                            e.samples(),
                            "medianMillis",
                            e.medianMillis(),
                            "perConfigurationFineTuneSeconds",
                            e.perConfigurationFineTuneSeconds(),
                            "ratio",
                            e.ratio()));
        return out;
    }

    private static Map<String, Object> estimate(Estimate e) {
        return Map.of("value", e.value(), "low", e.low(), "high", e.high(), "significant", e.significant());
    }

    private static String pct(Estimate e) {
        return String.format(Locale.ROOT, "%.1f [%.1f, %.1f]", 100 * e.value(), 100 * e.low(), 100 * e.high());
    }

    private static String gap(Estimate e) {
        if (e == null) return "0 (baseline)";
        return String.format(
                Locale.ROOT,
                "%+.1f [%+.1f, %+.1f]%s",
                100 * e.value(),
                100 * e.low(),
                100 * e.high(),
                e.significant() ? "*" : "");
    }
}
