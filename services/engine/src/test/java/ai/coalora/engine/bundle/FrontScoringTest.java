package ai.coalora.engine.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeightCache;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.Progress;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundle's front and phase report on the real MiniLM and sentiment data: a small bundle's front (scored on the
 * quantized weights with the folded adapter merged in) against the straightforward scoring, configuration by
 * configuration, with the folded adapter beside the quantized weights.
 */
class FrontScoringTest {
    static final int MAX_LENGTH = SmallBundles.MAX_LENGTH;

    @TempDir
    static Path dir;

    static PretrainedModel model;
    static TaskData task;
    static Path bundle;
    static BundleManifest manifest;
    static PhaseTimer timer;
    static double wallSeconds;

    @BeforeAll
    static void trainASmallBundle() throws Exception {
        model = PretrainedModel.miniLm(MAX_LENGTH);
        task = SmallBundles.sentiment(96, 16);
        bundle = dir.resolve("bundle");
        timer = new PhaseTimer();
        long start = System.nanoTime();
        manifest = new BundleTraining(SmallBundles.settings(1e-3f, 0.01f), 6, 6, 2, 32)
                .run(model, task, MAX_LENGTH, bundle, Progress.NONE, null, timer);
        wallSeconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(
                "small bundle: %.1f s, %s; front of %d%n",
                wallSeconds,
                PhaseTimer.format(timer.seconds()),
                manifest.front().size());
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    @Test
    void phasesAreRecordedInOrderAndSumToTheWallTime() {
        assertEquals(
                List.of(
                        PhaseTimer.ENCODING,
                        PhaseTimer.CALIBRATION,
                        PhaseTimer.TRAINING,
                        PhaseTimer.SEARCH,
                        PhaseTimer.FRONT,
                        PhaseTimer.WRITING),
                List.copyOf(timer.seconds().keySet()));
        timer.seconds().forEach((phase, s) -> assertTrue(s >= 0, phase + " " + s));
        assertEquals(0.0, timer.seconds().get(PhaseTimer.SEARCH), 0.01, "one epoch: no search round");
        assertTrue(timer.seconds().get(PhaseTimer.FRONT) > 0);
        // nothing falls between phases: they add up to the run's wall time (closing native memory comes after the last)
        assertEquals(wallSeconds, timer.total(), Math.max(0.25, 0.02 * wallSeconds));
        // training + search is the trainer's own wall time, give or take its set-up
        assertEquals(
                manifest.training().seconds(),
                timer.seconds().get(PhaseTimer.TRAINING) + timer.seconds().get(PhaseTimer.SEARCH),
                0.5);

        // the manifest records every phase the timer had when it was made: all but writing
        var recorded = manifest.training().phaseSeconds();
        assertNotNull(recorded);
        assertEquals(
                timer.seconds().keySet().stream()
                        .filter(p -> !p.equals(PhaseTimer.WRITING))
                        .toList(),
                List.copyOf(recorded.keySet()));
        recorded.forEach((phase, s) -> assertEquals(timer.seconds().get(phase), s, 1e-9, phase));
    }

    @Test
    void frontEqualsTheStraightforwardPerConfigurationScoring() throws Exception {
        ModelBundle.Loaded loaded = ModelBundle.read(bundle);
        assertEquals(manifest, loaded.manifest());
        EncodedExamples validation = EncodedExamples.of(model.tokenizer(), task.validation());
        List<ModelQuantConfig> configs = manifest.front().stream()
                .map(BundleManifest.FrontPoint::quantConfig)
                .toList();
        try (NDManager scope = model.encoder().manager().newSubManager();
                ModelBundle.Instance instance = loaded.instantiate(model.encoder(), scope);
                QuantizedWeightCache cache = new QuantizedWeightCache(model.encoder(), configs.size())) {
            SentenceClassifier classifier = new SentenceClassifier(model.encoder(), instance.head());
            configs.forEach(
                    cache::get); // as after training: the final set's weights are cached, so both time only the scoring

            long t0 = System.nanoTime();
            List<FineTuner.Scores> straightforward = new ArrayList<>();
            for (ModelQuantConfig c : configs) {
                try (NDManager s = scope.newSubManager();
                        LoraAdapter folded = instance.model().fold(c, s)) {
                    straightforward.add(FineTuner.evaluate(classifier, cache.get(c), folded, validation, null));
                }
            }
            long t1 = System.nanoTime();
            List<FineTuner.Scores> merged = FrontScoring.score(
                    configs,
                    instance.model(),
                    cache,
                    scope,
                    Progress.NONE,
                    (c, weights) -> FineTuner.evaluate(classifier, weights, null, validation, null));
            long t2 = System.nanoTime();
            System.out.printf(
                    "front of %d configurations on %d sentences: folded adapter beside the weights %.2f s, merged %.2f s "
                            + "(%.2fx)%n",
                    configs.size(),
                    validation.size(),
                    (t1 - t0) / 1e9,
                    (t2 - t1) / 1e9,
                    (double) (t1 - t0) / (t2 - t1));

            double maxLossDifference = 0;
            for (int i = 0; i < configs.size(); i++) {
                BundleManifest.FrontPoint p = manifest.front().get(i);
                assertEquals(
                        straightforward.get(i).accuracy(),
                        p.validationAccuracy(),
                        0.0,
                        "accuracy of " + p.averageBits());
                assertEquals(straightforward.get(i).loss(), p.validationLoss(), 1e-6, "loss of " + p.averageBits());
                assertEquals(
                        merged.get(i).accuracy(),
                        p.validationAccuracy(),
                        0.0); // the bundle's values are the merged scoring's
                assertEquals(merged.get(i).loss(), p.validationLoss(), 0.0);
                maxLossDifference = Math.max(
                        maxLossDifference, Math.abs(straightforward.get(i).loss() - p.validationLoss()));
            }
            System.out.printf("max |loss difference| %.2e%n", maxLossDifference);
        }
        // the front is the final set sorted by bits
        for (int i = 1; i < manifest.front().size(); i++) {
            assertTrue(manifest.front().get(i - 1).averageBits()
                    <= manifest.front().get(i).averageBits());
        }
    }

    @Test
    void bundlesWithoutPhaseTimesStillLoad() throws Exception {
        Path old = dir.resolve("old-bundle");
        Files.createDirectories(old);
        Files.copy(bundle.resolve(ModelBundle.TENSORS), old.resolve(ModelBundle.TENSORS));
        ObjectNode json = (ObjectNode)
                ModelBundle.JSON.readTree(bundle.resolve(ModelBundle.MANIFEST).toFile());
        assertTrue(json.get("training").has("phaseSeconds"));
        ((ObjectNode) json.get("training")).remove("phaseSeconds");
        Files.write(old.resolve(ModelBundle.MANIFEST), ModelBundle.JSON.writeValueAsBytes(json));

        BundleManifest m = ModelBundle.read(old).manifest();
        assertNull(m.training().phaseSeconds());
        assertEquals(manifest.front(), m.front());
        assertEquals(manifest.training().seconds(), m.training().seconds());
    }
}
