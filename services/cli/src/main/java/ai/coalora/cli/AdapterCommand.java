package ai.coalora.cli;

import ai.coalora.engine.bundle.AdapterEmission;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.quant.ModelQuantConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "adapter",
        mixinStandardHelpOptions = true,
        description = "Emits the adapter for any configuration from a bundle: M folded into A, an ordinary LoRA in the "
                + "Hugging Face PEFT layout (adapter_config.json + adapter_model.safetensors), the task head, the "
                + "configuration and a sidecar with its exact average bits and the model version.")
final class AdapterCommand implements Callable<Integer> {

    @Option(
            names = "--bundle",
            required = true,
            paramLabel = "BUNDLE",
            description = "A bundle written by `coalora train`.")
    Path bundle;

    @Mixin
    BundleConfigOptions configOptions;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for the adapter.")
    Path out;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        ModelBundle.Loaded loaded = ModelBundle.read(bundle);
        ModelQuantConfig config = configOptions.resolve(loaded.manifest());
        AdapterEmission.Emitted e;
        try (PretrainedModel model = PretrainedModel.miniLm(loaded.manifest().maxLength());
                ModelBundle.Instance instance =
                        loaded.instantiate(model.encoder(), model.encoder().manager())) {
            ai.coalora.engine.model.QuantizedWeights.checkMatches(model.encoder(), config);
            e = AdapterEmission.write(loaded, instance, config, out);
        }
        if (json.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("dir", out.toString());
            o.put("averageBits", e.averageBits());
            o.put("foldMillis", e.foldMillis());
            o.put("modelVersion", e.modelVersion());
            json.print(o);
        } else {
            System.out.printf(
                    "adapter for %.4f average bits written to %s (folded in %.1f ms; model version %s)%n",
                    e.averageBits(), out, e.foldMillis(), e.modelVersion().substring(0, 16));
        }
        return 0;
    }
}
