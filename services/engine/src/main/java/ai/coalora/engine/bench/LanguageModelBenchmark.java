package ai.coalora.engine.bench;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.coa.CoaTrainer;
import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.coa.ThetaSettings;
import ai.coalora.engine.coa.TrainingSetPolicies;
import ai.coalora.engine.coa.TrainingSetPolicy;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.LanguageModelLoss;
import ai.coalora.engine.lm.TokenWindows;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.objective.LanguageModelObjective;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import ai.coalora.engine.stats.PairedBootstrap;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The paper's comparison on a decoder with a language-modelling objective: a pretrained Llama-architecture model
 * is adapted to a new text domain under many quantization configurations, and every method is scored by the
 * held-out perplexity of the quantized model with its adapter (lower is better) on the same seen and unseen
 * configurations. Methods: per-configuration LoRA (one adapter trained on one configuration: CoA-LoRA's trainer
 * with a one-configuration set, no network), Shared-LoRA, and CoA-LoRA with a frozen set and with the search.
 * Two references per configuration put the numbers in context: the quantized model with no adapter, and the
 * full-precision model with no adapter.
 */
public final class LanguageModelBenchmark {

    /**
     * Scale of the decoder benchmark.
     *
     * @param seqLen          tokens per training and evaluation window
     * @param trainWindows    adaptation windows trained on (0: all the text gives)
     * @param evaluationWindows validation windows the search measures configurations on
     * @param testWindows     held-out windows every perplexity is measured on
     * @param training        epochs, batch (windows), AdamW and the LoRA spec: the same for every method
     * @param initialGrid     budgets of the initial training set, evenly spaced over 2.25..7.25
     * @param segments        bit segments of the search's selection
     * @param candidates      configurations the search measures per epoch
     * @param seenBudgets     budgets of the per-configuration baseline (their allocations join the training set)
     * @param unseenBudgets   budgets no method trains on (integer-only allocations)
     */
    public record Settings(
            boolean quick,
            int seqLen,
            int trainWindows,
            int evaluationWindows,
            int testWindows,
            FineTuneSettings training,
            int initialGrid,
            int segments,
            int candidates,
            List<Double> seenBudgets,
            List<Double> unseenBudgets) {

        /** The comparison at this machine's scale: 4 seen and 4 unseen configurations, 2 epochs. */
        public static Settings full() {
            return new Settings(
                    false,
                    64,
                    0,
                    24,
                    96,
                    FineTuneSettings.defaults().withEpochs(2).withBatchSize(16),
                    24,
                    20,
                    8,
                    List.of(2.5, 3.0, 3.5, 4.5),
                    List.of(2.75, 3.25, 4.0, 5.0));
        }

        /** The same comparison with every method trained for {@code epochs} epochs. */
        public Settings withEpochs(int epochs) {
            return new Settings(
                    quick,
                    seqLen,
                    trainWindows,
                    evaluationWindows,
                    testWindows,
                    training.withEpochs(epochs),
                    initialGrid,
                    segments,
                    candidates,
                    seenBudgets,
                    unseenBudgets);
        }

        /** A few minutes on the default pretrained model: fewer windows, 2 seen and 2 unseen configurations. */
        public static Settings quickRun() {
            return new Settings(
                    true,
                    64,
                    160,
                    8,
                    32,
                    FineTuneSettings.defaults().withEpochs(2).withBatchSize(16),
                    8,
                    8,
                    4,
                    List.of(2.5, 3.5),
                    List.of(2.75, 4.0));
        }
    }

    /** One method on one configuration: the held-out mean cross entropy (nats per token) of every test window. */
    public record Evaluation(ModelQuantConfig config, boolean seen, double[] windowLosses) {
        /** Mean cross entropy over the windows (equal lengths: the mean over all tokens). */
        public double loss() {
            return Arrays.stream(windowLosses).average().orElse(Double.NaN);
        }

        public double perplexity() {
            return Math.exp(loss());
        }
    }

    /**
     * A method's perplexity against per-configuration LoRA's over the same configurations, as a ratio - 1 (e.g.
     * +0.012: 1.2% higher perplexity), with a 95% paired-bootstrap interval over the test windows.
     */
    public static PairedBootstrap.Estimate perplexityGap(List<Evaluation> method, List<Evaluation> baseline) {
        PairedBootstrap.Estimate d = new PairedBootstrap(BOOTSTRAP_SEED)
                .meanScoreDifference(
                        method.stream().map(Evaluation::windowLosses).toList(),
                        baseline.stream().map(Evaluation::windowLosses).toList());
        // a difference of mean log-likelihoods is the log of a perplexity ratio
        return new PairedBootstrap.Estimate(Math.expm1(d.value()), Math.expm1(d.low()), Math.expm1(d.high()));
    }

    private static final long BOOTSTRAP_SEED = 7;

    public record MethodResult(
            Method method,
            double trainSeconds,
            String configsServed,
            int trainingConfigurations,
            long trainTokens,
            List<Evaluation> evaluations) {}

    /** Per configuration (seen, then unseen): the quantized model with no adapter. Plus the full-precision model's loss. */
    public record References(List<Evaluation> quantizedNoAdapter, double fullPrecisionLoss) {}

    public record Result(
            String domain,
            int trainWindows,
            int testWindows,
            int seqLen,
            List<ModelQuantConfig> seen,
            List<ModelQuantConfig> unseen,
            int initialSetSize,
            References references,
            List<MethodResult> methods,
            double seconds) {}

    /** The methods compared, in table order. */
    public static final List<Method> METHODS =
            List.of(Method.PER_CONFIGURATION, Method.SHARED_LORA, Method.COA_FROZEN, Method.COA_SEARCH);

    private LanguageModelBenchmark() {}

    /**
     * Runs the comparison: {@code train}, {@code validation} and {@code test} are the adaptation domain's texts
     * (the validation windows drive the search, the test windows give every reported perplexity).
     */
    public static Result run(
            LlamaDecoder decoder,
            BpeTokenizer tokenizer,
            String domain,
            List<String> train,
            List<String> validation,
            List<String> test,
            Settings s,
            Progress progress) {
        long start = System.nanoTime();
        int seqLen = Math.min(
                s.seqLen(),
                decoder.config().maxPositions()); // a model trained on shorter contexts gets shorter windows
        TokenWindows trainWindows = TokenWindows.of(tokenizer, train, seqLen, s.trainWindows());
        TokenWindows evaluationWindows = TokenWindows.of(tokenizer, validation, seqLen, s.evaluationWindows());
        TokenWindows testWindows = TokenWindows.of(tokenizer, test, seqLen, s.testWindows());

        progress.update(domain + ": quantization error tables", 0, 1);
        BudgetPlanner planner = BudgetPlanner.calibrate(decoder, trainWindows, QuantizerKind.NF, progress);
        BenchConfigurations configurations =
                BenchConfigurations.of(planner, s.seenBudgets(), s.unseenBudgets(), s.initialGrid());
        List<ModelQuantConfig> seen = configurations.seen(),
                unseen = configurations.unseen(),
                initialSet = configurations.initialSet();
        List<ModelQuantConfig> all = new ArrayList<>(seen);
        all.addAll(unseen);

        List<Evaluation> noAdapter = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            progress.update(domain + ": quantized models without adapter", i, all.size());
            try (BaseWeights base = QuantizedWeights.materialize(decoder, all.get(i))) {
                noAdapter.add(new Evaluation(
                        all.get(i), i < seen.size(), LanguageModelLoss.windowLosses(decoder, testWindows, base, null)));
            }
        }
        References references = new References(
                noAdapter, LanguageModelLoss.meanLoss(decoder, testWindows, decoder.fullPrecision(), null));

        LanguageModelObjective objective = new LanguageModelObjective(decoder, trainWindows, evaluationWindows);
        List<MethodResult> methods = new ArrayList<>();
        methods.add(perConfiguration(decoder, objective, testWindows, s, seen, unseen, domain, progress));
        for (Method m : METHODS.subList(1, METHODS.size())) {
            methods.add(shared(decoder, objective, testWindows, s, m, initialSet, seen, unseen, domain, progress));
        }
        return new Result(
                domain,
                trainWindows.count(),
                testWindows.count(),
                seqLen,
                seen,
                unseen,
                initialSet.size(),
                references,
                methods,
                (System.nanoTime() - start) / 1e9);
    }

    /** One LoRA per configuration, each trained alone on its configuration; unseen ones too (they are the reference there). */
    private static MethodResult perConfiguration(
            LlamaDecoder decoder,
            LanguageModelObjective objective,
            TokenWindows test,
            Settings s,
            List<ModelQuantConfig> seen,
            List<ModelQuantConfig> unseen,
            String domain,
            Progress progress) {
        CoaSettings settings = Method.PER_CONFIGURATION.settings(s.training(), ThetaSettings.defaults());
        List<Evaluation> evaluations = new ArrayList<>();
        double seenSeconds = 0;
        long tokens = 0;
        List<ModelQuantConfig> all = new ArrayList<>(seen);
        all.addAll(unseen);
        for (int i = 0; i < all.size(); i++) {
            ModelQuantConfig config = all.get(i);
            String phase = String.format(
                    Locale.ROOT,
                    "%s: per-configuration LoRA %d/%d (%.2f bits) ",
                    domain,
                    i + 1,
                    all.size(),
                    config.averageBits());
            try (NDManager keep = decoder.manager().newSubManager();
                    ConfigAwareLora lora = ConfigAwareLora.initialize(
                            decoder, s.training().lora(), s.training().seed() + 1, false, keep);
                    QuantizedWeightCache cache = new QuantizedWeightCache(decoder, 1)) {
                CoaTrainer.Result r = new CoaTrainer(objective, lora, cache)
                        .train(
                                settings,
                                List.of(config),
                                TrainingSetPolicy.frozen(),
                                (p, d, t) -> progress.update(phase + p, d, t));
                if (i < seen.size()) {
                    seenSeconds += r.seconds();
                    tokens += r.trainTokens();
                }
                evaluations.add(new Evaluation(
                        config,
                        i < seen.size(),
                        LanguageModelLoss.windowLosses(decoder, test, cache.get(config), lora.lora())));
            }
        }
        return new MethodResult(
                Method.PER_CONFIGURATION, seenSeconds, Integer.toString(seen.size()), seen.size(), tokens, evaluations);
    }

    private static MethodResult shared(
            LlamaDecoder decoder,
            LanguageModelObjective objective,
            TokenWindows test,
            Settings s,
            Method method,
            List<ModelQuantConfig> initialSet,
            List<ModelQuantConfig> seen,
            List<ModelQuantConfig> unseen,
            String domain,
            Progress progress) {
        CoaSettings settings = method.settings(s.training(), ThetaSettings.defaults());
        TrainingSetPolicy policy =
                method.policy(s.segments(), s.candidates(), s.training().seed(), TrainingSetPolicies.Selection.RAW);
        try (NDManager keep = decoder.manager().newSubManager();
                ConfigAwareLora coa = ConfigAwareLora.initialize(
                        decoder, s.training().lora(), s.training().seed() + 1, method.configAware(), keep);
                QuantizedWeightCache cache = new QuantizedWeightCache(decoder, settings.cacheCapacity())) {
            CoaTrainer.Result r = new CoaTrainer(objective, coa, cache)
                    .train(
                            settings,
                            initialSet,
                            policy,
                            (p, d, t) -> progress.update(domain + ": " + method.label + " " + p, d, t));
            List<Evaluation> evaluations = new ArrayList<>();
            List<ModelQuantConfig> all = new ArrayList<>(seen);
            all.addAll(unseen);
            for (int i = 0; i < all.size(); i++) {
                ModelQuantConfig config = all.get(i);
                progress.update(domain + ": " + method.label + " evaluating", i, all.size());
                // what a device runs: the folded adapter; "unseen" is checked, not assumed
                try (NDManager scope = keep.newSubManager();
                        LoraAdapter folded = coa.fold(config, scope)) {
                    evaluations.add(new Evaluation(
                            config,
                            i < seen.size() || r.trainedOn().contains(config),
                            LanguageModelLoss.windowLosses(decoder, test, cache.get(config), folded)));
                }
            }
            return new MethodResult(method, r.seconds(), "any", r.trainedOn().size(), r.trainTokens(), evaluations);
        }
    }

    /** Mean perplexity over a method's seen (or unseen) configurations. */
    public static double meanPerplexity(List<Evaluation> evaluations, boolean seen, int seenCount) {
        List<Evaluation> part =
                seen ? evaluations.subList(0, seenCount) : evaluations.subList(seenCount, evaluations.size());
        return part.stream().mapToDouble(Evaluation::perplexity).average().orElse(Double.NaN);
    }

    /** {@link #perplexityGap} of {@code m} against {@code base} over the seen (or unseen) configurations. */
    public static PairedBootstrap.Estimate gapOn(MethodResult m, MethodResult base, boolean seen, int nSeen) {
        int from = seen ? 0 : nSeen, to = seen ? nSeen : m.evaluations().size();
        return perplexityGap(
                m.evaluations().subList(from, to), base.evaluations().subList(from, to));
    }

    private static String percent(PairedBootstrap.Estimate e) {
        return String.format(
                Locale.ROOT,
                "%+.1f%% [%+.1f, %+.1f]%s",
                100 * e.value(),
                100 * e.low(),
                100 * e.high(),
                e.significant() ? " *" : "");
    }

    /** Every measurement, for paper-decoder.json. */
    public static Map<String, Object> json(Result r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("domain", r.domain());
        out.put("trainWindows", r.trainWindows());
        out.put("testWindows", r.testWindows());
        out.put("seqLen", r.seqLen());
        out.put("initialSetSize", r.initialSetSize());
        out.put("seconds", r.seconds());
        out.put("fullPrecisionPerplexity", Math.exp(r.references().fullPrecisionLoss()));
        out.put("quantizedNoAdapter", evaluationsJson(r.references().quantizedNoAdapter()));
        List<Object> methods = new ArrayList<>();
        for (MethodResult m : r.methods()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("method", m.method().jsonName());
            j.put("label", m.method().label);
            j.put("trainSeconds", m.trainSeconds());
            j.put("configsServed", m.configsServed());
            j.put("trainingConfigurations", m.trainingConfigurations());
            j.put("trainTokens", m.trainTokens());
            j.put(
                    "meanPerplexitySeen",
                    meanPerplexity(m.evaluations(), true, r.seen().size()));
            j.put(
                    "meanPerplexityUnseen",
                    meanPerplexity(m.evaluations(), false, r.seen().size()));
            if (m != r.methods().get(0)) {
                for (boolean seen : new boolean[] {true, false}) {
                    PairedBootstrap.Estimate g =
                            gapOn(m, r.methods().get(0), seen, r.seen().size());
                    j.put(
                            seen ? "perplexityGapSeen" : "perplexityGapUnseen",
                            Map.of(
                                    "value",
                                    g.value(),
                                    "low",
                                    g.low(),
                                    "high",
                                    g.high(),
                                    "significant",
                                    g.significant()));
                }
            }
            j.put("evaluations", evaluationsJson(m.evaluations()));
            methods.add(j);
        }
        out.put("methods", methods);
        return out;
    }

    private static List<Object> evaluationsJson(List<Evaluation> evaluations) {
        List<Object> out = new ArrayList<>();
        for (Evaluation e : evaluations) {
            out.add(Map.of(
                    "averageBits",
                    e.config().averageBits(),
                    "seen",
                    e.seen(),
                    "loss",
                    e.loss(),
                    "perplexity",
                    e.perplexity()));
        }
        return out;
    }

    /** The table: one row per method, then perplexity per configuration. */
    public static String markdown(Result r) {
        StringBuilder out = new StringBuilder();
        int nSeen = r.seen().size();
        out.append(String.format(
                Locale.ROOT,
                "### decoder, %s (%d training windows, %d held-out windows of %d tokens; %d seen + %d unseen configurations, initial set %d)%n%n",
                r.domain(),
                r.trainWindows(),
                r.testWindows(),
                r.seqLen(),
                nSeen,
                r.unseen().size(),
                r.initialSetSize()));
        out.append(
                "| method | configs served | perplexity seen | perplexity unseen | vs per-config, seen | vs per-config, unseen | training time | vs per-config |\n");
        out.append("|---|---|---|---|---|---|---|---|\n");
        MethodResult base = r.methods().get(0);
        for (MethodResult m : r.methods()) {
            double ps = meanPerplexity(m.evaluations(), true, nSeen),
                    pu = meanPerplexity(m.evaluations(), false, nSeen);
            boolean isBase = m == base;
            out.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %.2f | %.2f | %s | %s | %.0f s | %.2fx |%n",
                    m.method().label,
                    m.configsServed(),
                    ps,
                    pu,
                    isBase ? "-" : percent(gapOn(m, base, true, nSeen)),
                    isBase ? "-" : percent(gapOn(m, base, false, nSeen)),
                    m.trainSeconds(),
                    m.trainSeconds() / base.trainSeconds()));
        }
        out.append(String.format(
                Locale.ROOT,
                "| quantized, no adapter (reference) | - | %.2f | %.2f | | | | |%n",
                meanPerplexity(r.references().quantizedNoAdapter(), true, nSeen),
                meanPerplexity(r.references().quantizedNoAdapter(), false, nSeen)));
        out.append(String.format(
                Locale.ROOT,
                "| full precision, no adapter (reference) | - | %.2f | %.2f | | | | |%n%n",
                Math.exp(r.references().fullPrecisionLoss()),
                Math.exp(r.references().fullPrecisionLoss())));
        out.append(
                "Perplexity vs per-configuration LoRA: the ratio of perplexities (geometric over configurations) - 1, with a 95% "
                        + "paired-bootstrap interval over the test windows (2000 resamples); * marks an interval that excludes 0.\n\n");
        out.append(
                "Held-out perplexity per configuration (lower is better; per-configuration LoRA's training time counts its seen configurations only):\n\n");
        out.append("| configuration | avg bits | no adapter |");
        for (MethodResult m : r.methods())
            out.append(' ').append(m.method().label).append(" |");
        out.append("\n|---|---|---|");
        for (int i = 0; i < r.methods().size(); i++) out.append("---|");
        out.append('\n');
        for (int c = 0; c < r.references().quantizedNoAdapter().size(); c++) {
            Evaluation ref = r.references().quantizedNoAdapter().get(c);
            out.append(String.format(
                    Locale.ROOT,
                    "| %s %d | %.3f | %.2f |",
                    c < nSeen ? "seen" : "unseen",
                    c < nSeen ? c + 1 : c - nSeen + 1,
                    ref.config().averageBits(),
                    ref.perplexity()));
            for (MethodResult m : r.methods()) {
                Evaluation e = m.evaluations().get(c);
                out.append(String.format(
                        Locale.ROOT, " %.2f%s |", e.perplexity(), c >= nSeen && e.seen() ? " (trained on)" : ""));
            }
            out.append('\n');
        }
        out.append(String.format(Locale.ROOT, "%nTotal %.1f min.%n", r.seconds() / 60));
        return out.toString();
    }
}
