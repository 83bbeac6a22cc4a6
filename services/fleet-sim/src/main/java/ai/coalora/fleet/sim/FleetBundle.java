package ai.coalora.fleet.sim;

import ai.coalora.engine.CacheDir;
import ai.coalora.engine.bundle.BundleTraining;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A CoA-LoRA bundle to run the fleet with, trained on the real sentiment data with a short schedule and
 * cached: the demo and the tests need a real configuration-aware model and Pareto front, not the best one
 * (`./coalora train` makes that, in about 7 minutes).
 */
public record FleetBundle(String name, int trainExamples, int epochs, int initialGrid, int segments, int candidates) {
    /** The demo's: about two minutes of training on this machine, its front is the 16-budget initial set. */
    public static final FleetBundle DEMO = new FleetBundle("demo", 600, 2, 16, 12, 0);
    /** The tests': the smallest schedule that still searches. */
    public static final FleetBundle TEST = new FleetBundle("test", 256, 1, 8, 6, 2);

    static final int MAX_LENGTH = 40;

    /** The cached bundle directory, trained first if it is not there (or not readable). */
    public Path ensure(Progress progress) throws IOException {
        Path dir = CacheDir.root()
                .resolve("fleet-bundles")
                .resolve(String.join(
                        "-",
                        name,
                        "n" + trainExamples,
                        "e" + epochs,
                        "g" + initialGrid,
                        "u" + segments,
                        "c" + candidates));
        if (Files.isRegularFile(dir.resolve(ModelBundle.MANIFEST))) {
            try {
                ModelBundle.read(dir);
                return dir;
            } catch (IOException | RuntimeException corrupt) {
                // retrain below
            }
        }
        TaskData all = Tasks.builtin("sentiment");
        TaskData task = new TaskData(
                all.name(),
                all.labels(),
                all.train().subList(0, Math.min(trainExamples, all.train().size())),
                all.validation(),
                all.test(),
                all.sourceSha256());
        FineTuneSettings d = FineTuneSettings.defaults();
        FineTuneSettings fine = new FineTuneSettings(
                epochs, d.batchSize(), d.learningRate(), d.weightDecay(), d.clipNorm(), d.seed(), new LoraSpec(16, 32));
        BundleTraining training = new BundleTraining(
                new CoaSettings(fine, 2, true, CoaSettings.DEFAULT_CACHE_CAPACITY),
                initialGrid,
                segments,
                candidates,
                BundleTraining.defaults().evaluationBatch());
        try (PretrainedModel model = PretrainedModel.miniLm(MAX_LENGTH)) {
            training.run(model, task, MAX_LENGTH, dir, progress);
        }
        return dir;
    }
}
