package ai.coalora.engine.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.djl.ndarray.NDArray;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Warm-started CoA-LoRA training (telemetry-driven retraining) on the real MiniLM and sentiment data: a tiny
 * parent bundle is trained from scratch, then training continues from it with one extra configuration.
 */
class WarmStartIT {
    static final int MAX_LENGTH = SmallBundles.MAX_LENGTH;

    @TempDir
    static Path dir;

    static PretrainedModel model;
    static TaskData task;
    static BundleTraining training;
    static Path parentDir;
    static BundleManifest parent;
    static ModelQuantConfig threeBit;

    @BeforeAll
    static void trainTheParent() throws Exception {
        model = PretrainedModel.miniLm(MAX_LENGTH);
        task = SmallBundles.sentiment(200, 64);
        training = new BundleTraining(settings(1e-3f, 0.01f), 6, 6, 2, 128);
        parentDir = dir.resolve("parent");
        long start = System.nanoTime();
        parent = training.run(model, task, MAX_LENGTH, parentDir, Progress.NONE);
        System.out.printf(
                "parent bundle: %.1f s (training %.1f s)%n",
                (System.nanoTime() - start) / 1e9, parent.training().seconds());
        threeBit = ModelQuantConfig.uniform(
                QuantizedWeights.matrixSpecs(model.encoder()), QuantConfig.integerOnly(3), QuantizerKind.NF);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    static CoaSettings settings(float learningRate, float weightDecay) {
        return SmallBundles.settings(learningRate, weightDecay);
    }

    static Map<String, BundleManifest.FrontPoint> byConfigId(BundleManifest m) {
        return m.front().stream().collect(Collectors.toMap(p -> p.quantConfig().configId(), Function.identity()));
    }

    @Test
    void aParentFromScratchRecordsNoWarmStartAndOlderManifestsStillRead() throws Exception {
        assertNull(parent.training().warmStartFrom());
        assertNull(parent.training().extraConfigurations());
        assertFalse(parent.training().warmStarted());
        // not written at all when absent: such a manifest is exactly what bundles from before warm starts hold
        String json = Files.readString(parentDir.resolve(ModelBundle.MANIFEST));
        assertFalse(json.contains("warmStartFrom") || json.contains("extraConfigurations"), json);
        assertEquals(parent, ModelBundle.read(parentDir).manifest());
    }

    @Test
    void trainableInstancesCopyTheParentAndNeverWriteBackIntoIt() throws Exception {
        ModelBundle.Loaded loaded = ModelBundle.read(parentDir);
        Map<String, Tensor> before = Map.copyOf(loaded.tensors());
        try (ModelBundle.Instance a = loaded.instantiateTrainable(
                        model.encoder(), model.encoder().manager());
                ModelBundle.Instance b = loaded.instantiateTrainable(
                        model.encoder(), model.encoder().manager())) {
            assertEquals(
                    loaded.tensors(), ModelBundle.tensorsOf(a.model(), a.head()), "the parent's values, bit-exactly");
            List<NDArray> params = new ArrayList<>(a.model().parameters());
            params.addAll(a.head().parameters());
            assertEquals(loaded.tensors().size(), params.size(), "every tensor of the bundle is a parameter");
            for (NDArray p : params) assertTrue(p.hasGradient(), "a parameter without gradient: " + p.getShape());
            // what an optimizer does: update in place
            for (NDArray p : params) p.addi(0.5f);
            Map<String, Tensor> updated = ModelBundle.tensorsOf(a.model(), a.head());
            for (String name : loaded.tensors().keySet())
                assertNotEquals(loaded.tensors().get(name), updated.get(name), name);
            assertEquals(before, loaded.tensors(), "the loaded bundle changed");
            assertEquals(ModelBundle.read(parentDir).tensors(), loaded.tensors());
            assertEquals(
                    loaded.tensors(),
                    ModelBundle.tensorsOf(b.model(), b.head()),
                    "another instance changed with the first");
        }
    }

    @Test
    void warmStartContinuesFromTheParentWithTheExtraConfiguration() throws Exception {
        Map<String, BundleManifest.FrontPoint> parentFront = byConfigId(parent);
        assertFalse(
                parentFront.containsKey(threeBit.configId()), "pick an extra configuration the parent does not have");
        // given twice, once in another matrix order: one configuration
        List<ModelQuantConfig.Entry> reversed = new ArrayList<>(threeBit.matrices());
        Collections.reverse(reversed);
        ModelQuantConfig shuffled = new ModelQuantConfig(QuantizerKind.NF, reversed);
        WarmStart warm = new WarmStart(ModelBundle.read(parentDir), List.of(threeBit, shuffled));

        long start = System.nanoTime();
        BundleManifest child = training.run(model, task, MAX_LENGTH, dir.resolve("child"), Progress.NONE, warm);
        System.out.printf(
                "warm-started bundle: %.1f s (training %.1f s)%n",
                (System.nanoTime() - start) / 1e9, child.training().seconds());

        assertEquals(parent.tensorsSha256(), child.training().warmStartFrom());
        assertTrue(child.training().warmStarted());
        assertEquals(1, child.training().extraConfigurations());
        assertEquals(
                parent.training().initialConfigurations() + 1, child.training().initialConfigurations());
        assertEquals(child, ModelBundle.read(dir.resolve("child")).manifest(), "the new fields read back");

        Map<String, BundleManifest.FrontPoint> childFront = byConfigId(child);
        assertTrue(childFront.containsKey(threeBit.configId()), "the extra configuration is in the front");
        assertTrue(childFront.keySet().containsAll(parentFront.keySet()), "one epoch: the front is the initial set");
        // one more epoch from the parent: no configuration much worse than the parent (a fresh 1-epoch training)
        double parentMean = 0, childMean = 0;
        for (var e : parentFront.entrySet()) {
            double before = e.getValue().validationAccuracy(),
                    after = childFront.get(e.getKey()).validationAccuracy();
            System.out.printf(
                    "  %.3f bits: parent %.3f, warm-started %.3f%n",
                    e.getValue().averageBits(), before, after);
            assertTrue(
                    after >= before - 0.1,
                    String.format(
                            "%.3f bits: %.3f after the warm start, %.3f before",
                            e.getValue().averageBits(), after, before));
            parentMean += before / parentFront.size();
            childMean += after / parentFront.size();
        }
        System.out.printf(
                "  mean: parent %.3f, warm-started %.3f; 3-bit extra %.3f%n",
                parentMean, childMean, childFront.get(threeBit.configId()).validationAccuracy());
        assertTrue(childFront.get(threeBit.configId()).validationAccuracy() > 0.6, "the extra configuration works");
        // a second epoch on top of the parent's one, where training from scratch would give the parent again
        assertTrue(
                childMean > parentMean,
                String.format("mean accuracy %.3f after the warm start, %.3f before", childMean, parentMean));

        // every group of parameters was trained further (LoRA A and B, the network, the head)
        Map<String, Tensor> p = ModelBundle.read(parentDir).tensors(),
                c = ModelBundle.read(dir.resolve("child")).tensors();
        assertEquals(p.keySet(), c.keySet());
        for (String name : List.of(
                "lora.encoder.layer.0.attention.self.query.weight.A",
                "lora.encoder.layer.5.output.dense.weight.B",
                "network.out.weight",
                "network.gain",
                "head.weight",
                "head.bias")) {
            assertTrue(p.containsKey(name), name);
            assertNotEquals(p.get(name), c.get(name), name + " did not change");
        }
    }

    @Test
    void aWarmStartStartsExactlyAtTheParent() throws Exception {
        // a learning rate too small to move anything: what comes out is where the training started
        BundleTraining still = new BundleTraining(settings(1e-12f, 0f), 6, 6, 2, 16);
        // the same training sentences (the calibration's error tables are cached), a small validation split
        TaskData small = new TaskData(
                task.name(),
                task.labels(),
                task.train(),
                task.validation().subList(0, 16),
                task.test(),
                task.sourceSha256());
        Path out = dir.resolve("still");
        long start = System.nanoTime();
        BundleManifest m = still.run(
                model, small, MAX_LENGTH, out, Progress.NONE, new WarmStart(ModelBundle.read(parentDir), List.of()));
        System.out.printf("warm start at lr 1e-12: %.1f s%n", (System.nanoTime() - start) / 1e9);
        assertEquals(0, m.training().extraConfigurations());
        assertEquals(parent.tensorsSha256(), m.training().warmStartFrom());
        Map<String, Tensor> p = ModelBundle.read(parentDir).tensors(),
                c = ModelBundle.read(out).tensors();
        for (String name : p.keySet()) {
            float[] a = p.get(name).floats(), b = c.get(name).floats();
            float worst = 0;
            for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
            assertTrue(worst < 1e-6f, name + " moved by " + worst + ": the warm start did not start at the parent");
        }
    }

    @Test
    void aParentThatDoesNotFitIsAClearErrorBeforeAnyWork() throws Exception {
        ModelBundle.Loaded loaded = ModelBundle.read(parentDir);
        Path out = dir.resolve("refused");

        TaskData swapped = new TaskData(
                task.name(),
                List.of("positive", "negative"),
                task.train(),
                task.validation(),
                task.test(),
                task.sourceSha256());
        var labels = assertThrows(
                IllegalArgumentException.class,
                () -> training.run(model, swapped, MAX_LENGTH, out, Progress.NONE, new WarmStart(loaded, List.of())));
        assertTrue(labels.getMessage().contains("labels"), labels.getMessage());

        FineTuneSettings t = settings(1e-3f, 0.01f).training();
        BundleTraining rank8 =
                new BundleTraining(new CoaSettings(t.withLora(new LoraSpec(8, 16)), 2, true, 8), 6, 6, 2, 128);
        var rank = assertThrows(
                IllegalArgumentException.class,
                () -> rank8.run(model, task, MAX_LENGTH, out, Progress.NONE, new WarmStart(loaded, List.of())));
        assertTrue(rank.getMessage().contains("rank 16"), rank.getMessage());

        BundleTraining shared = new BundleTraining(settings(1e-3f, 0.01f).withConfigAware(false), 6, 6, 2, 128);
        var kind = assertThrows(
                IllegalArgumentException.class,
                () -> shared.run(model, task, MAX_LENGTH, out, Progress.NONE, new WarmStart(loaded, List.of())));
        assertTrue(kind.getMessage().contains("Shared-LoRA"), kind.getMessage());

        ModelQuantConfig partial = new ModelQuantConfig(
                QuantizerKind.NF,
                threeBit.matrices().subList(1, threeBit.matrices().size()));
        var matrices = assertThrows(
                IllegalArgumentException.class,
                () -> training.run(
                        model,
                        task,
                        MAX_LENGTH,
                        out,
                        Progress.NONE,
                        new WarmStart(loaded, List.of(threeBit, partial))));
        assertTrue(
                matrices.getMessage().contains("extra configuration 1")
                        && matrices.getMessage().contains("35 matrices"),
                matrices.getMessage());

        ModelQuantConfig integer = new ModelQuantConfig(QuantizerKind.INT, threeBit.matrices());
        var quantizer = assertThrows(
                IllegalArgumentException.class,
                () -> training.run(
                        model, task, MAX_LENGTH, out, Progress.NONE, new WarmStart(loaded, List.of(integer))));
        assertTrue(quantizer.getMessage().contains("quantizer"), quantizer.getMessage());

        assertFalse(Files.exists(out), "nothing written");
    }
}
