package ai.coalora.cli;

import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.data.DataFileOptions;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.EncodedExamples;
import ai.coalora.engine.train.FineTuner;
import ai.coalora.engine.train.SentenceClassifier;
import ai.djl.ndarray.NDManager;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description =
                "Evaluates a bundle on any configuration: quantizes the base model with it, folds the adapter the "
                        + "bundle emits for it, and prints accuracy on labelled data and the configuration's exact average bits.")
final class EvalCommand implements Callable<Integer> {

    @Option(
            names = "--bundle",
            required = true,
            paramLabel = "BUNDLE",
            description = "A bundle written by `coalora train`.")
    Path bundle;

    @Mixin
    BundleConfigOptions configOptions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(
                names = "--data",
                paramLabel = "FILE",
                description = "Labelled .csv or .jsonl: every row is evaluated; labels must be the bundle's.")
        Path data;

        @Option(names = "--task", description = "A built-in task: its test split is evaluated.")
        String task;
    }

    @Option(
            names = "--text-column",
            defaultValue = "text",
            description = "With --data: column holding the text (default: ${DEFAULT-VALUE}).")
    String textColumn;

    @Option(
            names = "--label-column",
            defaultValue = "label",
            description = "With --data: column holding the label (default: ${DEFAULT-VALUE}).")
    String labelColumn;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        ModelBundle.Loaded loaded = ModelBundle.read(bundle);
        ModelQuantConfig config = configOptions.resolve(loaded.manifest());
        List<String> labels = loaded.manifest().task().labels();
        List<Example> examples;
        if (source.data != null) {
            if (!Files.isRegularFile(source.data))
                throw new UncheckedIOException(new NoSuchFileException(source.data.toString()));
            TaskData d = Tasks.fromFile(new DataFileOptions(source.data, textColumn, labelColumn, null, labels, 42));
            examples = new ArrayList<>(d.train());
            examples.addAll(d.validation());
            examples.addAll(d.test());
        } else {
            TaskData d = Tasks.builtin(source.task);
            if (!d.labels().equals(labels))
                throw new IllegalArgumentException(
                        "task " + d.name() + " has labels " + d.labels() + ", the bundle " + labels);
            examples = d.test();
        }
        double accuracy;
        long t0 = System.nanoTime();
        try (PretrainedModel model = PretrainedModel.miniLm(loaded.manifest().maxLength());
                ModelBundle.Instance instance =
                        loaded.instantiate(model.encoder(), model.encoder().manager());
                BaseWeights base = QuantizedWeights.materialize(model.encoder(), config);
                NDManager scope = instance.manager().newSubManager();
                LoraAdapter adapter = instance.model().fold(config, scope)) {
            accuracy = FineTuner.accuracy(
                    new SentenceClassifier(model.encoder(), instance.head()),
                    base,
                    adapter,
                    EncodedExamples.of(model.tokenizer(), examples),
                    null);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (json.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("bundle", bundle.toString());
            o.put("modelVersion", loaded.manifest().tensorsSha256());
            o.put("configuration", configOptions.source());
            o.put("averageBits", config.averageBits());
            o.put("examples", examples.size());
            o.put("accuracy", accuracy);
            o.put("seconds", seconds);
            json.print(o);
        } else {
            System.out.printf(
                    "configuration %s: %.4f average bits%naccuracy %.4f on %d examples (%.1f s)%n",
                    configOptions.source(), config.averageBits(), accuracy, examples.size(), seconds);
        }
        return 0;
    }
}
