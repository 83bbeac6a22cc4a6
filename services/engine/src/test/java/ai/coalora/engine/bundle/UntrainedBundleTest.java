package ai.coalora.engine.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link BundleTraining#untrained}: the initialized model written as a bundle, its given front measured (seconds, no training). */
class UntrainedBundleTest {
    @TempDir
    Path dir;

    @Test
    void theInitializedModelWithItsFrontMeasuredOnValidation() throws Exception {
        try (PretrainedModel model = PretrainedModel.miniLm(SmallBundles.MAX_LENGTH)) {
            TaskData task = SmallBundles.sentiment(16, 0);
            ModelQuantConfig three = uniform(model, 3), four = uniform(model, 4);
            BundleTraining training = new BundleTraining(SmallBundles.settings(1e-3f, 0.01f), 2, 1, 1, 16);
            BundleManifest m = training.untrained(
                    model, task, SmallBundles.MAX_LENGTH, List.of(four, three, four), dir.resolve("b"));

            ModelBundle.Loaded loaded = ModelBundle.read(dir.resolve("b"));
            assertEquals(m, loaded.manifest(), "reads back as written");
            assertEquals(
                    List.of(three.configId(), four.configId()),
                    m.front().stream().map(p -> p.quantConfig().configId()).toList(),
                    "each configuration once, in average-bits order");
            for (BundleManifest.FrontPoint p : m.front()) {
                assertTrue(
                        p.validationAccuracy() >= 0 && p.validationAccuracy() <= 1,
                        "accuracy " + p.validationAccuracy());
                assertTrue(p.validationLoss() > 0 && Double.isFinite(p.validationLoss()), "loss " + p.validationLoss());
            }
            assertEquals(0, m.training().epochs());
            assertEquals(0, m.training().trainedConfigurations());
            assertNull(m.training().warmStartFrom());
            assertEquals(task.labels(), m.task().labels());
            assertTrue(m.configAware());
            assertEquals(16, m.rank());

            // nothing trained: every LoRA B is still the zeros it starts as, so the adapter changes nothing yet
            int bs = 0;
            for (Map.Entry<String, Tensor> t : loaded.tensors().entrySet()) {
                if (!t.getKey().startsWith("lora.") || !t.getKey().endsWith(".B")) continue;
                bs++;
                for (float v : t.getValue().floats()) assertEquals(0f, v, t.getKey());
            }
            assertEquals(QuantizedWeights.matrixSpecs(model.encoder()).size(), bs, "one B per adapted matrix");

            // a configuration of other matrices is refused before anything is written
            ModelQuantConfig partial = new ModelQuantConfig(
                    QuantizerKind.NF,
                    three.matrices().subList(1, three.matrices().size()));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> training.untrained(
                            model, task, SmallBundles.MAX_LENGTH, List.of(partial), dir.resolve("refused")));
            assertFalse(Files.exists(dir.resolve("refused")));
        }
    }

    static ModelQuantConfig uniform(PretrainedModel model, int bits) {
        return ModelQuantConfig.uniform(
                QuantizedWeights.matrixSpecs(model.encoder()), QuantConfig.integerOnly(bits), QuantizerKind.NF);
    }
}
