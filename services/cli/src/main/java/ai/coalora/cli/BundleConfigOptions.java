package ai.coalora.cli;

import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.quant.ModelQuantConfig;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Which configuration to serve from a bundle: any configuration file, or the bundle's best front point for a budget. */
public final class BundleConfigOptions {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Choice choice;

    static final class Choice {
        @Option(
                names = "--config",
                paramLabel = "FILE",
                description = "Any configuration, in the JSON form `coalora quantize` writes.")
        Path config;

        @Option(
                names = "--budget",
                paramLabel = "BITS",
                description =
                        "The most accurate configuration of the bundle's Pareto front within this many average bits.")
        Double budget;
    }

    ModelQuantConfig resolve(BundleManifest manifest) throws IOException {
        if (choice.config != null) return ModelQuantConfig.read(choice.config);
        return manifest.bestWithin(choice.budget).quantConfig();
    }

    String source() {
        return choice.config != null ? choice.config.toString() : "front, budget " + choice.budget;
    }
}
