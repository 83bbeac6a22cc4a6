package ai.coalora.cli;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.ModelVerification;
import ai.coalora.engine.model.OnnxReference;
import ai.coalora.engine.model.PretrainedModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "verify-model",
        mixinStandardHelpOptions = true,
        description = "Run our DJL forward pass and ONNX Runtime's on real sentences (the sentiment data) and "
                + "print the max absolute difference of the sentence embeddings. Exits 1 above the tolerance.")
final class VerifyModelCommand implements Callable<Integer> {
    static final double TOLERANCE = 1e-4;

    @Option(
            names = "--sentences",
            defaultValue = "100",
            description = "How many sentences (default: ${DEFAULT-VALUE}).")
    int sentences;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (sentences < 1) throw new IllegalArgumentException("--sentences must be >= 1, got " + sentences);
        TaskData data = Tasks.builtin("sentiment");
        List<String> texts = new ArrayList<>();
        for (Example e : data.test()) {
            if (texts.size() == sentences) break;
            texts.add(e.text());
        }
        if (texts.size() < sentences)
            throw new IllegalArgumentException(
                    "--sentences at most " + data.test().size());
        ModelVerification.Result r;
        try (PretrainedModel model = PretrainedModel.miniLm(128);
                OnnxReference reference = new OnnxReference(MiniLmArtifact.onnxFile())) {
            r = ModelVerification.run(model.encoder(), model.tokenizer(), reference, texts, 16);
        }
        boolean pass = r.maxAbsDiff() <= TOLERANCE;
        if (json.json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("sentences", r.sentences());
            out.put("maxAbsDiff", r.maxAbsDiff());
            out.put("meanAbsDiff", r.meanAbsDiff());
            out.put("tolerance", TOLERANCE);
            out.put("pass", pass);
            out.put("seconds", r.seconds());
            json.print(out);
        } else {
            System.out.printf(
                    "sentences: %d%nmax |ours - onnxruntime|: %.3e (tolerance %.0e) %s%nmean |diff|: %.3e%n",
                    r.sentences(), r.maxAbsDiff(), TOLERANCE, pass ? "PASS" : "FAIL", r.meanAbsDiff());
        }
        return pass ? 0 : Main.CHECK_FAILED;
    }
}
