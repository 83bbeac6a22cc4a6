package ai.coalora.engine.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.engine.bench.LanguageModelBenchmark;
import ai.coalora.engine.bench.Method;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.coa.CoaTrainer;
import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.coa.TrainingSetPolicy;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.objective.LanguageModelObjective;
import ai.coalora.engine.quant.BudgetAllocator;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * CoA-LoRA on a decoder with the language-modelling objective, short: a tiny Llama pretrained here (the
 * {@code pretrain} code path, seconds) is adapted to review sentences under budget-optimal quantization
 * configurations of its 7 matrices per block.
 */
class DecoderCoaLoraTest {
    private static final int SEQ = 32;
    private static Path model;
    private static TaskData reviews;

    @BeforeAll
    static void pretrainATinyDecoder() throws Exception {
        assumeTrue(LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh");
        model = Files.createTempDirectory("coalora-tiny-lm-");
        Pretraining.Settings s =
                new Pretraining.Settings(384, 32, 2, 4, 2, 88, SEQ, 8, 80, 0, 1e-2f, 6, 0.0f, 1.0f, 11, 8, 20, 60_000);
        try (NDManager manager = NDManager.newBaseManager()) {
            Pretraining.run(LmCorpus.load(), s, model, manager, line -> {});
        }
        reviews = Tasks.builtin("sentiment");
    }

    private static List<String> texts(List<Example> split, int n) {
        return split.stream().limit(n).map(Example::text).toList();
    }

    @Test
    void configurationAwareLoraLowersTheLossOfQuantizedDecoders() throws Exception {
        BpeTokenizer tokenizer = BpeTokenizer.load(model.resolve(Pretraining.TOKENIZER_FILE));
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.load(model, manager)) {
            assertEquals(LinearId.all(ai.coalora.engine.model.Role.Architecture.DECODER, 2), decoder.linearIds());
            TokenWindows train = TokenWindows.of(tokenizer, texts(reviews.train(), 600), SEQ, 0);
            TokenWindows eval = TokenWindows.of(tokenizer, texts(reviews.validation(), 200), SEQ, 16);

            // the full-precision view is the decoder itself
            try (NDManager scope = manager.newSubManager()) {
                NDArray ids = train.batch(0, 2, scope);
                assertArrayEquals(
                        decoder.forward(ids).toFloatArray(),
                        decoder.forward(ids, decoder.fullPrecision(), null).toFloatArray(),
                        0f);
            }

            BudgetPlanner planner =
                    BudgetPlanner.calibrate(decoder, train, ai.coalora.engine.quant.QuantizerKind.NF, Progress.NONE);
            ModelQuantConfig seen = planner.allocate(3.0, false).config();
            assertEquals(14, seen.matrices().size(), "7 matrices per block, 2 blocks");
            assertTrue(seen.averageBits() <= 3.0 + 1e-9);
            Set<ModelQuantConfig> set = new LinkedHashSet<>();
            for (BudgetAllocator.Allocation a : planner.initialGrid(4, false)) set.add(a.config());
            set.add(seen);

            FineTuneSettings t = new FineTuneSettings(2, 8, 5e-3f, 0.0f, 1.0f, 3, new LoraSpec(4, 8));
            CoaSettings settings = new CoaSettings(t, 2, true, 8);
            LanguageModelObjective objective = new LanguageModelObjective(decoder, train, eval);
            try (NDManager keep = manager.newSubManager();
                    ConfigAwareLora coa = ConfigAwareLora.initialize(decoder, t.lora(), 5, true, keep);
                    QuantizedWeightCache cache = new QuantizedWeightCache(decoder, 8)) {
                assertEquals(
                        7,
                        coa.network()
                                .parameters()
                                .get("embedding.role")
                                .getShape()
                                .get(0),
                        "one role id per decoder matrix kind");
                float[] outBefore = coa.network().parameters().get("out.weight").toFloatArray();
                CoaTrainer trainer = new CoaTrainer(objective, coa, cache);
                double before = trainer.loss(seen);
                CoaTrainer.Result r =
                        trainer.train(settings, List.copyOf(set), TrainingSetPolicy.frozen(), Progress.NONE);
                double after = trainer.loss(seen);
                System.out.printf(
                        "decoder CoA-LoRA: eval loss at %.3f bits %.4f -> %.4f (perplexity %.1f -> %.1f), %d steps' tokens %d%n",
                        seen.averageBits(),
                        before,
                        after,
                        Math.exp(before),
                        Math.exp(after),
                        r.epochs().size(),
                        r.trainTokens());
                assertTrue(after < before - 0.05, "evaluation loss " + before + " -> " + after);
                assertEquals(0, r.skippedSteps());
                assertTrue(
                        !Arrays.equals(
                                outBefore,
                                coa.network().parameters().get("out.weight").toFloatArray()),
                        "the configuration-aware network was trained");

                // the folded adapter (what a device runs) scores what the training-time adapter scores
                try (NDManager scope = keep.newSubManager();
                        LoraAdapter folded = coa.fold(seen, scope)) {
                    double foldedLoss = LanguageModelLoss.meanLoss(decoder, eval, cache.get(seen), folded);
                    assertEquals(after, foldedLoss, 1e-4);
                }
            }
        }
    }

    @Test
    void benchmarkReportsPerplexityForEveryMethodSeenAndUnseen() throws Exception {
        BpeTokenizer tokenizer = BpeTokenizer.load(model.resolve(Pretraining.TOKENIZER_FILE));
        LanguageModelBenchmark.Settings s = new LanguageModelBenchmark.Settings(
                true,
                SEQ,
                48,
                8,
                16,
                new FineTuneSettings(1, 8, 5e-3f, 0.0f, 1.0f, 3, new LoraSpec(4, 8)),
                4,
                4,
                2,
                List.of(3.0),
                List.of(4.0));
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.load(model, manager)) {
            LanguageModelBenchmark.Result r = LanguageModelBenchmark.run(
                    decoder,
                    tokenizer,
                    "reviews",
                    texts(reviews.train(), 400),
                    texts(reviews.validation(), 100),
                    texts(reviews.test(), 200),
                    s,
                    Progress.NONE);
            String table = LanguageModelBenchmark.markdown(r);
            System.out.println(table);
            assertEquals(
                    LanguageModelBenchmark.METHODS,
                    r.methods().stream()
                            .map(LanguageModelBenchmark.MethodResult::method)
                            .toList());
            List<Double> noAdapter = new ArrayList<>();
            for (LanguageModelBenchmark.Evaluation e : r.references().quantizedNoAdapter())
                noAdapter.add(e.perplexity());
            for (LanguageModelBenchmark.MethodResult m : r.methods()) {
                assertEquals(2, m.evaluations().size(), m.method().label);
                for (int c = 0; c < 2; c++) {
                    LanguageModelBenchmark.Evaluation e = m.evaluations().get(c);
                    assertTrue(
                            Double.isFinite(e.perplexity()) && e.perplexity() > 1,
                            m.method().label + " " + e.perplexity());
                    // every method trained on review text: its adapter beats the same quantized model without one
                    assertTrue(
                            e.perplexity() < noAdapter.get(c),
                            m.method().label + " config " + c + ": " + e.perplexity() + " vs no adapter "
                                    + noAdapter.get(c));
                }
                assertTrue(table.contains("| " + m.method().label + " |"), m.method().label);
            }
            assertTrue(!r.methods().get(3).evaluations().get(1).seen()
                    || r.methods().get(3).trainingConfigurations() > 0);
            assertEquals(Method.PER_CONFIGURATION, r.methods().get(0).method());
            assertEquals("1", r.methods().get(0).configsServed());
        }
    }
}
