package ai.coalora.cli;

import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.lm.Pretraining;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "pretrain",
        mixinStandardHelpOptions = true,
        description =
                "Pretrain a small Llama-architecture decoder from scratch on the LM corpus (Moby-Dick + SOTU train "
                        + "split): train a BPE tokenizer, train the model with AdamW, report the held-out perplexity, and write "
                        + "config.json, model.safetensors and tokenizer.json into --out (loadable as a Hugging Face Llama).")
final class PretrainCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, description = "Output folder.")
    Path out;

    @Option(names = "--vocab", defaultValue = "4096", description = "Tokenizer vocabulary (default: ${DEFAULT-VALUE}).")
    int vocab;

    @Option(names = "--hidden", defaultValue = "256", description = "Hidden size (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--layers", defaultValue = "4", description = "Decoder layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", defaultValue = "4", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", defaultValue = "2", description = "Key/value heads (default: ${DEFAULT-VALUE}).")
    int kvHeads;

    @Option(
            names = "--intermediate",
            defaultValue = "768",
            description =
                    "MLP width (default: ${DEFAULT-VALUE}; a multiple of 256 keeps every matrix in GGUF's K-quants).")
    int intermediate;

    @Option(
            names = "--seq-len",
            defaultValue = "128",
            description = "Tokens per training sequence (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(
            names = "--batch-size",
            defaultValue = "16",
            description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--steps",
            defaultValue = "2000",
            description = "Optimizer steps, the schedule's length (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(
            names = "--minutes",
            defaultValue = "10",
            description = "Stop training after this many minutes, 0 for no limit (default: ${DEFAULT-VALUE}).")
    double minutes;

    @Option(
            names = "--lr",
            defaultValue = "1e-3",
            description = "Peak learning rate; linear warm-up, cosine decay to a tenth (default: ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--warmup", defaultValue = "100", description = "Warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(
            names = "--weight-decay",
            defaultValue = "0.01",
            description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    float weightDecay;

    @Option(
            names = "--clip",
            defaultValue = "1.0",
            description = "Global gradient-norm clip (default: ${DEFAULT-VALUE}).")
    float clip;

    @Option(
            names = "--seed",
            defaultValue = "42",
            description = "Initialization and shuffling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--eval-sequences",
            defaultValue = "64",
            description = "Held-out sequences scored at the end (default: ${DEFAULT-VALUE}).")
    int evalSequences;

    @Option(
            names = "--log-every",
            defaultValue = "50",
            description = "Print the training loss every this many steps (default: ${DEFAULT-VALUE}).")
    int logEvery;

    @Option(
            names = "--train-chars",
            defaultValue = "0",
            description = "Use at most this many characters of train text, 0 for all (default: ${DEFAULT-VALUE}).")
    long trainChars;

    @Mixin
    JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (minutes < 0 || !Double.isFinite(minutes))
            throw new IllegalArgumentException("--minutes must be >= 0, got " + minutes);
        if (evalSequences < 1 || logEvery < 1)
            throw new IllegalArgumentException("--eval-sequences and --log-every must be >= 1");
        Pretraining.Settings s = new Pretraining.Settings(
                vocab,
                hidden,
                layers,
                heads,
                kvHeads,
                intermediate,
                seqLen,
                batchSize,
                steps,
                minutes,
                lr,
                warmup,
                weightDecay,
                clip,
                seed,
                evalSequences,
                logEvery,
                trainChars);
        LmCorpus corpus = LmCorpus.load();
        Pretraining.Result r;
        try (NDManager manager = NDManager.newBaseManager()) {
            r = Pretraining.run(
                    corpus, s, out, manager, json.json ? line -> System.err.println(line) : System.out::println);
        }
        if (json.json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("parameters", r.parameters());
            o.put("vocab", r.config().vocabSize());
            o.put("steps", r.steps());
            o.put("tokensSeen", r.tokensSeen());
            o.put("trainSeconds", r.trainSeconds());
            o.put("tokensPerSecond", r.tokensPerSecond());
            o.put("firstLoss", r.firstLoss());
            o.put("lastLoss", r.lastLoss());
            o.put("heldOutSequences", r.heldOutSequences());
            o.put("heldOutPerplexity", r.heldOutPerplexity());
            o.put("out", out.toString());
            json.print(o);
        } else {
            System.out.printf(
                    "parameters: %d%nsteps: %d (%.0f s, %.0f tokens/s)%ntrain loss: %.4f -> %.4f%n"
                            + "held-out perplexity: %.2f (%d sequences of %d tokens)%nsaved: %s%n",
                    r.parameters(),
                    r.steps(),
                    r.trainSeconds(),
                    r.tokensPerSecond(),
                    r.firstLoss(),
                    r.lastLoss(),
                    r.heldOutPerplexity(),
                    r.heldOutSequences(),
                    seqLen,
                    out);
        }
        return 0;
    }
}
