package ai.coalora.engine.coa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.model.Role;
import ai.coalora.engine.model.TokenBatch;
import ai.coalora.engine.objective.ClassificationObjective;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.ScaleType;
import ai.coalora.engine.train.ClassifierHead;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The configuration-aware model on the real MiniLM: inputs, M at init, folding, and a short joint training run. */
class ConfigAwareLoraTest {
    static PretrainedModel model;
    static List<MatrixSpec> specs;

    @BeforeAll
    static void load() throws Exception {
        model = PretrainedModel.miniLm(64);
        specs = QuantizedWeights.matrixSpecs(model.encoder());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static ModelQuantConfig uniform(QuantConfig c) {
        return ModelQuantConfig.uniform(specs, c, QuantizerKind.NF);
    }

    @Test
    void everyMatrixGetsItsOwnBlockAndRole() {
        ModelQuantConfig config = uniform(QuantConfig.integerOnly(3));
        List<ConfigFields> fields = ConfigAwareNetwork.fieldsOf(config);
        assertEquals(36, fields.size());
        Set<String> blockAndRole = new HashSet<>();
        for (int i = 0; i < fields.size(); i++) {
            LinearId id = LinearId.parse(config.matrices().get(i).matrix().name());
            assertEquals(id.block(), fields.get(i).block(), "block of " + id.weightName());
            assertEquals(id.role().id(), fields.get(i).role(), "role of " + id.weightName());
            blockAndRole.add(fields.get(i).block() + "/" + fields.get(i).role());
        }
        assertEquals(36, blockAndRole.size(), "two matrices share a (block, role) input");
        assertEquals(
                Set.of(0, 1, 2, 3, 4, 5),
                fields.stream().map(ConfigFields::block).collect(Collectors.toSet()));
        assertEquals(
                Role.Architecture.ENCODER.roles().size(),
                fields.stream().map(ConfigFields::role).distinct().count());
        ConfigFields f = ConfigFields.of(new LinearId(4, Role.OUTPUT), new QuantConfig(8, 2, ScaleType.FP32, 16, 256));
        assertEquals(new ConfigFields(3, 0, 2, 0, 2, 4, 5), f);
    }

    @Test
    void mixingStartsAtIdentityAndDependsOnTheInputs() {
        try (NDManager scope = model.encoder().manager().newSubManager();
                ConfigAwareNetwork net = ConfigAwareNetwork.initialize(16, 6, 6, 3, scope)) {
            NDArray m = net.mixing(ConfigAwareNetwork.fieldsOf(uniform(QuantConfig.integerOnly(2))), scope);
            assertEquals(
                    List.of(36L, 16L, 16L),
                    List.of(
                            m.getShape().get(0),
                            m.getShape().get(1),
                            m.getShape().get(2)));
            float offIdentity = m.sub(scope.eye(16)).abs().max().getFloat();
            assertTrue(offIdentity < 0.05f, "M should start near I, max |M - I| = " + offIdentity);
            assertTrue(offIdentity > 0f, "the last layer is near zero, not zero: inputs must still matter");
            NDArray other = net.mixing(ConfigAwareNetwork.fieldsOf(uniform(QuantConfig.integerOnly(8))), scope);
            assertTrue(m.sub(other).abs().max().getFloat() > 0f, "different bits, same M");
            assertTrue(m.get(0).sub(m.get(6)).abs().max().getFloat() > 0f, "different blocks, same M");
        }
    }

    @Test
    void blindControlIgnoresTheConfigurationButNotTheMatrix() {
        try (NDManager scope = model.encoder().manager().newSubManager();
                ConfigAwareNetwork net = ConfigAwareNetwork.initialize(
                        16, 6, 6, 3, ThetaSettings.defaults().withInputs(ConfigInputs.BLIND), scope)) {
            NDArray two = net.mixing(ConfigAwareNetwork.fieldsOf(uniform(QuantConfig.integerOnly(2))), scope);
            NDArray eight = net.mixing(ConfigAwareNetwork.fieldsOf(uniform(QuantConfig.integerOnly(8))), scope);
            assertEquals(0f, two.sub(eight).abs().max().getFloat(), 0f, "the blind network read the configuration");
            assertTrue(
                    two.get(0).sub(two.get(6)).abs().max().getFloat() > 0f,
                    "the blind network must still read block and role");
        }
    }

    @Test
    void continuousFeaturesSeparateLayoutsAndStayBounded() {
        float[] integer3 = ConfigAwareNetwork.continuousFeatures(
                ConfigFields.of(LinearId.parse(specs.get(0).name()), QuantConfig.integerOnly(3)));
        float[] optimal3 = ConfigAwareNetwork.continuousFeatures(
                ConfigFields.of(LinearId.parse(specs.get(0).name()), new QuantConfig(3, 4, ScaleType.FP16, 32, 64)));
        assertEquals(ConfigAwareNetwork.CONTINUOUS_FEATURES, integer3.length);
        assertNotEquals(integer3[0], optimal3[0], "bits per weight must differ");
        assertEquals(integer3[1], optimal3[1], "same weight bits");
        for (QuantConfig c : QuantConfig.all()) {
            for (float x : ConfigAwareNetwork.continuousFeatures(
                    ConfigFields.of(LinearId.parse(specs.get(0).name()), c))) {
                assertTrue(Math.abs(x) <= 1.3f, c + " gives feature " + x);
            }
        }
    }

    @Test
    void networkLoadsBackExactlyAndRejectsWrongParameters() {
        try (NDManager scope = model.encoder().manager().newSubManager();
                ConfigAwareNetwork net = ConfigAwareNetwork.initialize(8, 6, 6, 5, scope)) {
            Map<String, float[]> values = new HashMap<>();
            net.parameters().forEach((k, v) -> values.put(k, v.toFloatArray()));
            try (ConfigAwareNetwork copy = ConfigAwareNetwork.of(8, 6, 6, values, scope)) {
                copy.parameters().forEach((k, v) -> assertTrue(Arrays.equals(values.get(k), v.toFloatArray()), k));
            }
            try (ConfigAwareNetwork continuous = ConfigAwareNetwork.initialize(
                    8, 6, 6, 5, ThetaSettings.defaults().withInputs(ConfigInputs.FIELDS_AND_CONTINUOUS), scope)) {
                Map<String, float[]> c = new HashMap<>();
                continuous.parameters().forEach((k, v) -> c.put(k, v.toFloatArray()));
                // the continuous projection in the tensors is what makes a loaded network read continuous inputs
                try (ConfigAwareNetwork copy = ConfigAwareNetwork.of(8, 6, 6, c, scope)) {
                    assertEquals(ConfigInputs.FIELDS_AND_CONTINUOUS, copy.inputs());
                    List<ConfigFields> fields = ConfigAwareNetwork.fieldsOf(uniform(QuantConfig.integerOnly(3)));
                    assertEquals(
                            0f,
                            continuous
                                    .mixing(fields, scope)
                                    .sub(copy.mixing(fields, scope))
                                    .abs()
                                    .max()
                                    .getFloat(),
                            0f);
                }
            }
            values.put("hidden.bias", new float[3]);
            assertThrows(IllegalArgumentException.class, () -> ConfigAwareNetwork.of(8, 6, 6, values, scope));
            values.remove("hidden.bias");
            assertThrows(IllegalArgumentException.class, () -> ConfigAwareNetwork.of(8, 6, 6, values, scope));
        }
    }

    @Test
    void foldedAdapterGivesTheSameOutputsAsTheUnfoldedOne() {
        try (NDManager scope = model.encoder().manager().newSubManager();
                ConfigAwareLora coa =
                        ConfigAwareLora.initialize(model.encoder(), new LoraSpec(8, 16), 11, true, scope)) {
            // move away from the init (B = 0, M ~ I), where folding would be trivially exact
            for (NDArray p : coa.parameters()) p.addi(scope.randomNormal(0f, 0.05f, p.getShape(), p.getDataType()));
            ModelQuantConfig config = uniform(new QuantConfig(3, 4, ScaleType.FP16, 32, 64));
            TokenBatch batch =
                    TokenBatch.of(model.tokenizer().encodeAll(List.of("a fine day", "not good at all, sadly")), scope);
            try (QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), 1);
                    LoraAdapter folded = coa.fold(config, scope)) {
                NDArray unfolded = model.encoder().forward(batch, cache.get(config), coa.adapterFor(config, scope));
                NDArray viaFolded = model.encoder().forward(batch, cache.get(config), folded);
                NDArray plain = model.encoder().forward(batch, cache.get(config), null);
                float diff = unfolded.sub(viaFolded).abs().max().getFloat();
                float effect = unfolded.sub(plain).abs().max().getFloat();
                float scale = unfolded.abs().max().getFloat();
                System.out.printf(
                        "fold: max |unfolded - folded| = %.2e (outputs up to %.2f), adapter effect %.2e%n",
                        diff, scale, effect);
                assertTrue(effect > 0.1f, "the adapter must change the output for the test to mean anything");
                // same math, different float32 association ((x A^T) M^T vs x (M A)^T) through 6 blocks
                assertTrue(diff < 2e-5f * scale, "folded adapter differs by " + diff);
                assertEquals(36, folded.matrices().size());
                // a folded adapter is a snapshot: further training of the shared model does not change it
                for (NDArray p : coa.parameters()) p.addi(1f);
                NDArray again = model.encoder().forward(batch, cache.get(config), folded);
                assertEquals(0f, viaFolded.sub(again).abs().max().getFloat(), 0f);
            }
        }
    }

    @Test
    void jointTrainingLearnsAndTrainsTheNetwork() {
        TaskData task = Tasks.builtin("sentiment");
        EncodedExamples train =
                EncodedExamples.of(model.tokenizer(), task.train().subList(0, 256));
        EncodedExamples eval =
                EncodedExamples.of(model.tokenizer(), task.validation().subList(0, 64));
        List<ModelQuantConfig> set = List.of(
                uniform(QuantConfig.integerOnly(2)),
                uniform(QuantConfig.integerOnly(3)),
                uniform(QuantConfig.integerOnly(4)));
        CoaSettings settings =
                CoaSettings.defaults().withTraining(FineTuneSettings.defaults().withEpochs(2));
        try (NDManager scope = model.encoder().manager().newSubManager();
                ClassifierHead head = new ClassifierHead(384, 2, 1, scope);
                ConfigAwareLora coa = ConfigAwareLora.initialize(
                        model.encoder(), settings.training().lora(), 2, true, scope);
                QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), 8)) {
            float[] outBefore = coa.network().parameters().get("out.weight").toFloatArray();
            CoaTrainer trainer = new CoaTrainer(
                    new ClassificationObjective(new SentenceClassifier(model.encoder(), head), train, eval),
                    coa,
                    cache);
            double lossBefore = trainer.loss(set.get(0));
            CoaTrainer.Result r = trainer.train(settings, set, TrainingSetPolicy.frozen(), Progress.NONE);
            double lossAfter = trainer.loss(set.get(0));
            Map<String, Double> norms = r.epochs().get(1).gradientNorms();
            MixingStatistics stats = MixingStatistics.of(coa, set, scope);
            LinearId first = coa.lora().matrices().iterator().next();
            float foldedVsIdentity;
            try (LoraAdapter folded = coa.fold(set.get(0), scope)) {
                foldedVsIdentity = maxDiff(
                                folded.a(first).toFloatArray(),
                                coa.lora().a(first).toFloatArray())
                        / coa.lora().a(first).abs().max().getFloat();
            }
            System.out.printf(
                    "CoA-LoRA 2 epochs x 256 examples x 2 configs/step: eval loss %.3f -> %.3f, %.1f s; gradient norms %s; "
                            + "||M - I|| %.4f, spread %.3f; folded A vs A (M = I): max relative difference %.4f%n",
                    lossBefore,
                    lossAfter,
                    r.seconds(),
                    norms,
                    stats.distanceFromIdentity(),
                    stats.spread(),
                    foldedVsIdentity);
            assertTrue(lossAfter < lossBefore - 0.05, "eval loss " + lossBefore + " -> " + lossAfter);
            assertTrue(r.epochs().get(1).trainLoss() < r.epochs().get(0).trainLoss());
            assertEquals(Set.copyOf(set), r.trainedOn(), "every configuration of the set is trained on");
            assertEquals(3, r.materializations(), "each configuration quantized once, then cached");
            assertNotEquals(
                    0f,
                    maxDiff(
                            outBefore,
                            coa.network().parameters().get("out.weight").toFloatArray()),
                    "the configuration-aware network received no gradient");
            // the method is not inert: theta gets a gradient, M moves away from I and differs between configurations,
            // and the adapter a device receives is not the one folded with M = I
            assertTrue(norms.get("theta") > 1e-4, "theta's gradient norm " + norms);
            assertTrue(norms.get("lora.B") > 1e-4 && norms.get("lora.A") > 1e-6, "LoRA gradient norms " + norms);
            assertTrue(stats.distanceFromIdentity() > 0.01, "||M - I|| = " + stats.distanceFromIdentity());
            assertTrue(stats.spread() > 0.05, "M hardly differs across configurations: spread " + stats.spread());
            assertTrue(foldedVsIdentity > 0.01f, "the folded adapter is the M = I one: " + foldedVsIdentity);
        }
    }

    @Test
    void thetaStartsLateAndAtItsOwnRate() {
        TaskData task = Tasks.builtin("sentiment");
        EncodedExamples train =
                EncodedExamples.of(model.tokenizer(), task.train().subList(0, 64));
        EncodedExamples eval =
                EncodedExamples.of(model.tokenizer(), task.validation().subList(0, 16));
        List<ModelQuantConfig> set = List.of(uniform(QuantConfig.integerOnly(2)), uniform(QuantConfig.integerOnly(3)));
        FineTuneSettings oneEpoch = FineTuneSettings.defaults().withEpochs(1);
        for (double start : new double[] {0.0, 0.99}) {
            CoaSettings settings = CoaSettings.defaults()
                    .withTraining(oneEpoch)
                    .withTheta(ThetaSettings.defaults()
                            .withStartFraction(start)
                            .withInputs(ConfigInputs.FIELDS_AND_CONTINUOUS));
            try (NDManager scope = model.encoder().manager().newSubManager();
                    ClassifierHead head = new ClassifierHead(384, 2, 1, scope);
                    ConfigAwareLora coa =
                            ConfigAwareLora.initialize(model.encoder(), oneEpoch.lora(), 2, settings.theta(), scope);
                    QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), 2)) {
                Map<String, float[]> before = new HashMap<>();
                coa.network().parameters().forEach((k, v) -> before.put(k, v.toFloatArray()));
                new CoaTrainer(
                                new ClassificationObjective(new SentenceClassifier(model.encoder(), head), train, eval),
                                coa,
                                cache)
                        .train(settings, set, TrainingSetPolicy.frozen(), Progress.NONE);
                float moved = 0;
                for (var e : coa.network().parameters().entrySet())
                    moved = Math.max(
                            moved, maxDiff(before.get(e.getKey()), e.getValue().toFloatArray()));
                // 64 examples, batch 32: 2 steps; a start at 99% of them leaves theta untouched (no decay either: rate
                // 0)
                if (start == 0) assertTrue(moved > 0, "theta must train from the first step");
                else assertEquals(0f, moved, "theta must not move before its start");
            }
        }
    }

    @Test
    void scheduleUsesEveryConfigurationWithDistinctPicksAndBoundedWorkingSets() {
        List<ModelQuantConfig> set = new ArrayList<>();
        for (int b : QuantConfig.WEIGHT_BITS)
            for (int b0 : QuantConfig.SCALE_BITS) set.add(uniform(new QuantConfig(b, b0, ScaleType.FP16, 64, 256)));
        List<List<ModelQuantConfig>> plan = CoaTrainer.schedule(set, 40, 2, 5, new Random(1));
        assertEquals(40, plan.size());
        Set<ModelQuantConfig> used = new HashSet<>();
        for (List<ModelQuantConfig> step : plan) {
            assertEquals(2, step.size());
            assertNotEquals(step.get(0), step.get(1));
            used.addAll(step);
        }
        assertEquals(Set.copyOf(set), used);
        // with a cache of 5 the 16 configurations are visited in 4 working sets of 4: no set change within a quarter
        for (int q = 0; q < 4; q++) {
            Set<ModelQuantConfig> working = new HashSet<>();
            for (int s = q * 10; s < (q + 1) * 10; s++) working.addAll(plan.get(s));
            assertTrue(working.size() <= 5, "working set of quarter " + q + " has " + working.size());
        }
        // a set smaller than k per chunk must not hang
        assertEquals(
                3,
                CoaTrainer.schedule(set.subList(0, 3), 3, 2, 2, new Random(2)).size());
    }

    private static float maxDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
