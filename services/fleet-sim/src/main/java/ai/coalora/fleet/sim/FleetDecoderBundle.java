package ai.coalora.fleet.sim;

import ai.coalora.engine.CacheDir;
import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.DecoderBundleTraining;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.io.FileTrees;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A decoder version to run the fleet's llama.cpp devices with, cached: a small Llama decoder pretrained here on the LM
 * corpus (no pretrained decoder can be downloaded), then CoA-LoRA trained on it with the sentiment texts as the
 * adaptation domain, with a short schedule. Widths are multiples of 256, so every matrix takes its K-quant type. The
 * folder holds the bundle and its base model's files (config.json, model.safetensors, tokenizer.json): what the
 * registry takes as a decoder version.
 *
 * @param layers         decoder blocks (hidden 256, 4 heads / 2 kv, intermediate 768, vocabulary 4096)
 * @param pretrainSteps  pretraining steps of 16 windows
 * @param seqLen         tokens per window, in pretraining and in the bundle (the devices' perplexity windows)
 * @param trainWindows   CoA-LoRA training windows of the sentiment train split
 * @param initialGrid    budgets of the initial training set
 * @param candidates     configurations the search measures per epoch
 */
public record FleetDecoderBundle(
        String name, int layers, int pretrainSteps, int seqLen, int trainWindows, int initialGrid, int candidates) {
    /** The tests': the smallest that still searches (about a minute to build on this project's 2-core machine). */
    public static final FleetDecoderBundle TEST = new FleetDecoderBundle("test", 2, 150, 64, 64, 4, 2);
    /** The demo's: longer pretraining, so that samples read like text (about three minutes to build). */
    public static final FleetDecoderBundle DEMO = new FleetDecoderBundle("demo", 2, 400, 64, 128, 6, 2);

    private static final Pattern STEP = Pattern.compile("^step (\\d+)/");

    /** The cached version folder, built first if it is not there (or not readable). */
    public Path ensure(Progress progress) throws IOException {
        Path dir = CacheDir.root()
                .resolve("fleet-bundles")
                .resolve(String.join(
                        "-",
                        "decoder",
                        name,
                        "l" + layers,
                        "s" + pretrainSteps,
                        "w" + seqLen,
                        "n" + trainWindows,
                        "g" + initialGrid,
                        "c" + candidates));
        if (readable(dir)) return dir;
        FileTrees.delete(dir); // an unreadable or outdated folder: built again from scratch
        // built beside it and moved into place: two processes building at once never mix their files
        Path building = Files.createTempDirectory(Files.createDirectories(dir.getParent()), dir.getFileName() + ".");
        Path version = building.resolve("version");
        Path model = Files.createTempDirectory("coalora-decoder-");
        try (NDManager manager = NDManager.newBaseManager()) {
            Pretraining.Settings d = Pretraining.Settings.defaults();
            Pretraining.run(
                    LmCorpus.load(),
                    new Pretraining.Settings(
                            d.vocabSize(),
                            d.hiddenSize(),
                            layers,
                            d.numHeads(),
                            d.numKeyValueHeads(),
                            d.intermediateSize(),
                            seqLen,
                            d.batchSize(),
                            pretrainSteps,
                            0,
                            d.learningRate(),
                            Math.max(1, pretrainSteps / 20),
                            d.weightDecay(),
                            d.clipNorm(),
                            d.seed(),
                            16,
                            Math.max(1, pretrainSteps / 4),
                            2_000_000),
                    model,
                    manager,
                    line -> { // "step 50/400 ...": shown as a bar
                        Matcher m = STEP.matcher(line);
                        if (m.find()) progress.update("pretraining", Long.parseLong(m.group(1)), pretrainSteps);
                    });
        }
        FineTuneSettings t = new FineTuneSettings(1, 8, 5e-3f, 0.0f, 1.0f, 3, new LoraSpec(4, 8));
        new DecoderBundleTraining(
                        new CoaSettings(t, 2, true, 8), seqLen, trainWindows, 4, 16, initialGrid, 3, candidates)
                .run(model, Tasks.builtin("sentiment"), version, progress);
        for (String f : baseFiles()) Files.copy(model.resolve(f), version.resolve(f));
        FileTrees.delete(model);
        try {
            Files.move(version, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException another) { // another process put its build in place first: the same version
            if (!readable(dir)) throw another;
        } finally {
            FileTrees.delete(building);
        }
        return dir;
    }

    /** The base model's files a decoder version carries beside its bundle. */
    public static List<String> baseFiles() {
        return List.of(HfCheckpoint.CONFIG, HfCheckpoint.SINGLE_FILE, Pretraining.TOKENIZER_FILE);
    }

    private static boolean readable(Path dir) {
        try {
            DecoderBundle.Loaded b = DecoderBundle.read(dir);
            for (String f : baseFiles()) if (!Files.isRegularFile(dir.resolve(f))) return false;
            return b.manifest() != null;
        } catch (IOException | RuntimeException corrupt) {
            return false;
        }
    }
}
