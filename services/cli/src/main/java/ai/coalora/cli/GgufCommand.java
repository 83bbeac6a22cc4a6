package ai.coalora.cli;

import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.GgufDeployment;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lm.TokenWindows;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "gguf",
        mixinStandardHelpOptions = true,
        description =
                "Deploys a decoder for llama.cpp at one quantization configuration: writes model.gguf (the base model "
                        + "quantized by the configuration, GGUF types per --mapping) and, with --bundle, adapter.gguf (the bundle's "
                        + "adapter folded for that configuration, a GGUF LoRA: llama-cli -m model.gguf --lora adapter.gguf).")
final class GgufCommand implements Callable<Integer> {

    @Option(
            names = "--bundle",
            paramLabel = "BUNDLE",
            description = "A decoder bundle written by `coalora train --model`.")
    Path bundle;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description =
                    "The decoder folder (config.json, *.safetensors, tokenizer.json). "
                            + "With --bundle: default the folder the bundle was trained on; any folder given must hold that same model.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Choice choice;

    static final class Choice {
        @Option(
                names = "--budget",
                paramLabel = "BITS",
                description =
                        "Average bits per weight: with --bundle, the configuration of "
                                + "the bundle's front with the lowest validation perplexity within the budget; without, the planner's best allocation.")
        Double budget;

        @Option(
                names = "--config",
                paramLabel = "FILE",
                description = "Any configuration of this model's matrices, in the JSON form `coalora quantize` writes.")
        Path config;
    }

    @Option(
            names = "--mapping",
            defaultValue = "k-quants",
            description =
                    "GGUF types for the configuration's bits: k-quants (Q2_K..Q8_0) or legacy (Q4_0, Q5_0, Q8_0) (default: ${DEFAULT-VALUE}).")
    String mapping;

    @Option(
            names = "--task",
            defaultValue = "sentiment",
            description =
                    "Without --bundle, with --budget: the built-in task whose training text calibrates the planner (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(
            names = "--out",
            required = true,
            paramLabel = "DIR",
            description = "Directory for model.gguf (and adapter.gguf).")
    Path out;

    @Mixin
    JsonOption json;

    /** The planner's calibration when there is no bundle: 64 windows of 64 tokens (fewer if the model's context is shorter). */
    private static final int CALIBRATION_SEQ_LEN = 64, CALIBRATION_WINDOWS = 64;

    @Override
    public Integer call() throws Exception {
        GgufTypeMapping types = mapping();
        if (bundle == null && model == null)
            throw new IllegalArgumentException("give --bundle (a decoder bundle) or --model (a decoder folder)");
        DecoderBundle.Loaded loaded = bundle == null ? null : DecoderBundle.read(bundle);
        Path modelDir = model != null ? model : loaded.baseModelPath();
        if (loaded != null) loaded.checkBaseModel(modelDir);
        Path tokenizerFile = modelDir.resolve(Pretraining.TOKENIZER_FILE);
        if (!Files.isRegularFile(tokenizerFile)) throw new NoSuchFileException(tokenizerFile.toString());
        HfCheckpoint checkpoint = HfCheckpoint.load(modelDir);
        BpeTokenizer tokenizer = BpeTokenizer.load(tokenizerFile);
        GgufDeployment.Written w;
        try (NDManager manager = NDManager.newBaseManager()) {
            ModelQuantConfig config = configuration(loaded, checkpoint, tokenizer, manager);
            try (DecoderBundle.Instance instance =
                    loaded == null ? null : loaded.instantiate(checkpoint.config(), manager)) {
                w = GgufDeployment.write(checkpoint, tokenizer, config, types, instance, out);
            }
        }
        if (json.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", w.model().toString());
            o.put("modelBytes", w.modelBytes());
            if (w.adapter() != null) {
                o.put("adapter", w.adapter().toString());
                o.put("adapterBytes", w.adapterBytes());
                o.put("foldMillis", w.foldMillis());
            }
            o.put("averageBits", w.averageBits());
            o.put("ggufBitsPerWeight", w.ggufBitsPerWeight());
            o.put("mapping", types.name());
            o.put("seconds", w.seconds());
            json.print(o);
        } else {
            System.out.printf(
                    Locale.ROOT,
                    "configuration: %.4f average bits; GGUF (%s): %.3f bits per weight of the quantized matrices%n",
                    w.averageBits(),
                    mapping,
                    w.ggufBitsPerWeight());
            System.out.printf(Locale.ROOT, "%s  %,d bytes%n", w.model(), w.modelBytes());
            if (w.adapter() != null) {
                System.out.printf(
                        Locale.ROOT,
                        "%s  %,d bytes (adapter folded in %.1f ms)%n",
                        w.adapter(),
                        w.adapterBytes(),
                        w.foldMillis());
            }
            System.out.printf(Locale.ROOT, "written in %.2f s%n", w.seconds());
        }
        return 0;
    }

    private GgufTypeMapping mapping() {
        return switch (mapping.toLowerCase(Locale.ROOT)) {
            case "k-quants", "k_quants" -> GgufTypeMapping.K_QUANTS;
            case "legacy" -> GgufTypeMapping.LEGACY;
            default -> throw new IllegalArgumentException("--mapping must be k-quants or legacy, got " + mapping);
        };
    }

    /** The configuration file's; the bundle front's best within the budget; or, with no bundle, the planner's allocation. */
    private ModelQuantConfig configuration(
            DecoderBundle.Loaded loaded, HfCheckpoint checkpoint, BpeTokenizer tokenizer, NDManager manager)
            throws Exception {
        if (choice.config != null) return ModelQuantConfig.read(choice.config);
        double budget = choice.budget;
        if (!Double.isFinite(budget))
            throw new IllegalArgumentException("--budget must be a finite number, got " + budget);
        if (loaded != null) return loaded.manifest().bestWithin(budget).quantConfig();
        var texts = Example.texts(Tasks.builtin(task).train());
        try (LlamaDecoder decoder = LlamaDecoder.of(checkpoint, manager)) {
            TokenWindows windows = TokenWindows.of(
                    tokenizer,
                    texts,
                    Math.min(CALIBRATION_SEQ_LEN, checkpoint.config().maxPositions()),
                    CALIBRATION_WINDOWS);
            return BudgetPlanner.calibrate(decoder, windows, QuantizerKind.NF, new ProgressBar())
                    .allocate(budget, false)
                    .config();
        }
    }
}
