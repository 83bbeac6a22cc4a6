package ai.coalora.cli;

import ai.coalora.engine.ProcessMemory;
import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.bundle.DecoderBundleTraining;
import ai.coalora.engine.bundle.GgufDeployment;
import ai.coalora.engine.bundle.PhaseTimer;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.io.FileTrees;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.fleet.sim.LlamaCpp;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench scale}: the whole decoder chain at a real LLM's shape, weights drawn at random (no pretrained checkpoint
 * can be downloaded here): a Hugging Face safetensors folder written and read back, the quantization error tables
 * and budgeted allocations, a few CoA-LoRA steps, the front scored, the bundle written, an adapter folded and the
 * configuration exported as GGUF, then llama.cpp loading and running it. Prints each stage's time and the process's
 * peak resident memory during it.
 */
@Command(
        name = "scale",
        mixinStandardHelpOptions = true,
        description = "The decoder chain at Qwen2.5's shapes with random weights: HF safetensors in, error tables and "
                + "budgeted allocations, a few CoA-LoRA steps, adapter emission, GGUF export, llama.cpp loading and "
                + "running it; time and peak resident memory per stage. --layers runs fewer blocks of the same width "
                + "and extrapolates the per-block stages to the full depth.")
final class BenchScaleCommand implements Callable<Integer> {
    /** Qwen2.5's published shapes (config.json of Qwen/Qwen2.5-0.5B and -1.5B): tied embeddings, q/k/v biases. */
    enum Shape {
        QWEN2_5_0_5B(896, 4864, 24, 14, 2),
        QWEN2_5_1_5B(1536, 8960, 28, 12, 2);

        static final int VOCAB = 151_936;
        final int hidden, intermediate, layers, heads, kvHeads;

        Shape(int hidden, int intermediate, int layers, int heads, int kvHeads) {
            this.hidden = hidden;
            this.intermediate = intermediate;
            this.layers = layers;
            this.heads = heads;
            this.kvHeads = kvHeads;
        }

        LlamaConfig config(int layers) {
            return LlamaConfig.qwen2(
                    VOCAB, hidden, intermediate, layers, heads, kvHeads, 1e-6, 1_000_000.0, 32_768, true);
        }
    }

    @Option(
            names = "--shape",
            defaultValue = "QWEN2_5_0_5B",
            description = "QWEN2_5_0_5B (24 blocks, hidden 896, 14/2 heads, intermediate 4864) or QWEN2_5_1_5B "
                    + "(28 blocks, hidden 1536, 12/2 heads, intermediate 8960); vocabulary 151,936 (default: "
                    + "${DEFAULT-VALUE}).")
    Shape shape;

    @Option(
            names = "--layers",
            split = ",",
            description =
                    "Blocks to build (default: the shape's). Two or more depths (e.g. 1,2) run the chain at each and "
                            + "fit every stage's time and peak memory to a + b x blocks: a measured extrapolation to the full depth.")
    List<Integer> layers;

    @Option(
            names = "--windows",
            defaultValue = "8",
            description = "Training windows of 64 tokens (default: ${DEFAULT-VALUE}).")
    int windows;

    @Option(
            names = "--budget",
            defaultValue = "4.5",
            description = "Average bits of the exported configuration (default: ${DEFAULT-VALUE}).")
    double budget;

    @Option(
            names = "--work-dir",
            description = "Where the checkpoint, bundle and GGUF go (default: a temporary folder, removed after).")
    Path workDir;

    @Mixin
    JsonOption json;

    record Stage(String name, double seconds, long peakBytes, String detail) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        List<Integer> depths = layers == null ? List.of(shape.layers) : List.copyOf(layers);
        for (int d : depths)
            if (d < 1 || d > shape.layers) throw new IllegalArgumentException("--layers must be 1.." + shape.layers);
        if (depths.stream().distinct().count() != depths.size())
            throw new IllegalArgumentException("--layers: each depth once");
        if (windows < 2) throw new IllegalArgumentException("--windows must be >= 2");
        String missing = LlamaCpp.unavailable();
        if (missing != null) throw new IllegalArgumentException("bench scale ends in llama.cpp: " + missing);
        Map<Integer, List<Stage>> runs = new LinkedHashMap<>();
        // several depths: each in a fresh process, so that no run inherits another's heap, native memory or warm JIT
        for (int blocks : depths) runs.put(blocks, depths.size() == 1 ? run(blocks) : runAlone(blocks));
        print(runs);
        return 0;
    }

    /** This command at one depth in a new JVM with this one's settings; its stages, read from its JSON. */
    private List<Stage> runAlone(int blocks) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "bench", "scale"));
        cmd.addAll(List.of("--shape", shape.name(), "--layers", Integer.toString(blocks), "--windows"));
        cmd.addAll(List.of(Integer.toString(windows), "--budget", Double.toString(budget), "--json"));
        if (workDir != null) cmd.addAll(List.of("--work-dir", workDir.toString()));
        Process p = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        byte[] out = p.getInputStream().readAllBytes();
        if (p.waitFor() != 0)
            throw new IllegalStateException("the run at " + blocks + " blocks failed (status " + p.exitValue() + ")");
        JsonNode stages = JSON.readTree(out).path("runs").path(0).path("stages");
        List<Stage> result = new ArrayList<>();
        for (JsonNode st : stages)
            result.add(new Stage(
                    st.get("name").asText(),
                    st.get("seconds").asDouble(),
                    st.get("peakBytes").asLong(),
                    st.get("detail").asText()));
        return result;
    }

    /** The chain at {@code blocks} blocks of the shape: its stages in order. */
    private List<Stage> run(int blocks) throws Exception {
        LlamaConfig c = shape.config(blocks);
        Path work = workDir != null
                ? Files.createDirectories(workDir.resolve("blocks-" + blocks))
                : Files.createTempDirectory("coalora-scale-");
        ProgressBar progress = new ProgressBar();
        List<Stage> stages = new ArrayList<>();
        try {
            Path model = work.resolve("model"), bundle = work.resolve("bundle"), gguf = work.resolve("gguf");

            ProcessMemory.resetPeak();
            long t0 = System.nanoTime();
            // weights of a fresh seed: error tables cached from an earlier run (same weights) would skip the work
            writeRandomCheckpoint(c, model, System.nanoTime());
            stages.add(new Stage(
                    "random weights written as HF safetensors",
                    seconds(t0),
                    ProcessMemory.peakBytes(),
                    String.format("%,d parameters, %.2f GB on disk", parameters(c), sizeOf(model) / 1e9)));

            // read back, error tables and allocations, CoA-LoRA steps, the front, the bundle: the trainer's own phases
            PhaseTimer timer = PhaseTimer.withPeakMemory();
            FineTuneSettings t = new FineTuneSettings(1, 2, 1e-3f, 0.0f, 1.0f, 7, new LoraSpec(8, 16));
            DecoderBundleManifest m = new DecoderBundleTraining(
                            new CoaSettings(t, 2, true, 2), 64, windows, 1, 2, 2, 2, 0)
                    .run(model, Tasks.builtin("sentiment"), bundle, progress, timer);
            Map<String, String> what = Map.of(
                    PhaseTimer.LOADING,
                    "HF safetensors read into the engine",
                    PhaseTimer.ENCODING,
                    "texts cut into 64-token windows",
                    PhaseTimer.CALIBRATION,
                    "quantization error tables of " + 7 * blocks + " matrices, budgeted allocations",
                    PhaseTimer.TRAINING,
                    String.format("CoA-LoRA: %d steps of 2 windows, 2 configurations each", windows / 2),
                    PhaseTimer.FRONT,
                    m.front().size() + " configurations scored on 2 windows, adapters folded",
                    PhaseTimer.WRITING,
                    "bundle written");
            timer.seconds()
                    .forEach((phase, sec) -> stages.add(new Stage(
                            phase, sec, timer.peakBytes().getOrDefault(phase, -1L), what.getOrDefault(phase, ""))));

            ProcessMemory.resetPeak();
            t0 = System.nanoTime();
            ModelQuantConfig config = m.bestWithin(budget).quantConfig();
            GgufDeployment.Written w;
            try (NDManager manager = NDManager.newBaseManager()) {
                HfCheckpoint checkpoint = HfCheckpoint.load(model);
                DecoderBundle.Loaded loaded = DecoderBundle.read(bundle);
                try (DecoderBundle.Instance instance = loaded.instantiate(checkpoint.config(), manager)) {
                    w = GgufDeployment.write(
                            checkpoint,
                            BpeTokenizer.load(model.resolve(Pretraining.TOKENIZER_FILE)),
                            config,
                            GgufTypeMapping.K_QUANTS,
                            instance,
                            gguf);
                }
            }
            stages.add(new Stage(
                    "adapter folded, GGUF written",
                    seconds(t0),
                    ProcessMemory.peakBytes(),
                    String.format(
                            "%.2f bits (GGUF %.3f bits per weight): model.gguf %.1f MB, adapter.gguf %.1f MB; fold %.0f ms",
                            w.averageBits(),
                            w.ggufBitsPerWeight(),
                            w.modelBytes() / 1e6,
                            w.adapterBytes() / 1e6,
                            w.foldMillis())));

            t0 = System.nanoTime();
            try (LlamaCpp llama = LlamaCpp.start(0)) {
                LlamaCpp.Loaded l = llama.load("scale", w.model(), w.adapter());
                double loadSeconds = seconds(t0);
                List<String> texts =
                        Example.texts(Tasks.builtin("sentiment").test()).subList(0, 40);
                LlamaCpp.Perplexity p = llama.perplexity("scale", texts, 64, 4);
                LlamaCpp.Sample sample = llama.generate("scale", "The film", 32, 1);
                stages.add(new Stage(
                        "llama.cpp: load model.gguf + adapter.gguf, run",
                        seconds(t0),
                        llama.peakBytes(),
                        String.format(
                                "load %.1f s (weights %.1f MB in llama.cpp); perplexity on %d windows of 64 in %.1f s; "
                                        + "32 tokens decoded at %.1f tokens/s",
                                loadSeconds,
                                l.modelBytes() / 1e6,
                                p.windows(),
                                p.seconds(),
                                sample.tokensPerSecond())));
            }
            return stages;
        } finally {
            if (workDir == null) FileTrees.delete(work);
        }
    }

    static long parameters(LlamaConfig c) {
        return HfCheckpoint.requiredShapes(c).values().stream()
                .mapToLong(s -> s.length == 2 ? s[0] * s[1] : s[0])
                .sum();
    }

    /**
     * Each depth's table; with two or more depths, each stage's seconds and peak memory fitted to a + b x blocks through
     * the shallowest and the deepest run, evaluated at the shape's full depth (never below the deeper run).
     */
    private void print(Map<Integer, List<Stage>> runs) {
        int lo = runs.keySet().stream().min(Integer::compare).orElseThrow();
        int hi = runs.keySet().stream().max(Integer::compare).orElseThrow();
        List<Map<String, Object>> jsonRuns = new ArrayList<>();
        for (var run : runs.entrySet()) {
            LlamaConfig c = shape.config(run.getKey());
            if (!json.json) {
                System.out.printf(
                        "%n%s shape, %d of %d blocks: hidden %d, %d/%d heads, intermediate %d, vocabulary %,d: %,d "
                                + "parameters%n",
                        shape,
                        run.getKey(),
                        shape.layers,
                        c.hiddenSize(),
                        c.numHeads(),
                        c.numKeyValueHeads(),
                        c.intermediateSize(),
                        c.vocabSize(),
                        parameters(c));
                System.out.printf("%-48s %9s %11s  %s%n", "stage", "seconds", "peak RSS", "what");
                for (Stage st : run.getValue())
                    System.out.printf(
                            "%-48s %9.1f %8.2f GB  %s%n", st.name(), st.seconds(), st.peakBytes() / 1e9, st.detail());
                System.out.printf(
                        "total %.1f s%n",
                        run.getValue().stream().mapToDouble(Stage::seconds).sum());
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("layers", run.getKey());
            r.put("parameters", parameters(c));
            r.put("stages", run.getValue());
            jsonRuns.add(r);
        }
        List<Map<String, Object>> extrapolated = new ArrayList<>();
        if (lo != hi) {
            List<Stage> a = runs.get(lo), b = runs.get(hi);
            if (!json.json) {
                System.out.printf(
                        "%n%s at its full depth (%d blocks, %,d parameters), each stage fitted to a + b x blocks "
                                + "through %d and %d blocks:%n",
                        shape, shape.layers, parameters(shape.config(shape.layers)), lo, hi);
                System.out.printf("%-48s %9s %11s%n", "stage", "seconds", "peak RSS");
            }
            double total = 0;
            for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                // a stage costs no less with more blocks: run-to-run noise never extrapolates below the deeper run
                double sec = Math.max(
                        b.get(i).seconds(), line(a.get(i).seconds(), b.get(i).seconds(), lo, hi, shape.layers));
                double peak = Math.max(
                        b.get(i).peakBytes(),
                        line(a.get(i).peakBytes(), b.get(i).peakBytes(), lo, hi, shape.layers));
                total += sec;
                if (!json.json)
                    System.out.printf("%-48s %9.0f %8.2f GB%n", a.get(i).name(), sec, peak / 1e9);
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("stage", a.get(i).name());
                e.put("seconds", sec);
                e.put("peakResidentBytes", (long) peak);
                extrapolated.add(e);
            }
            if (!json.json)
                System.out.printf(
                        "total %.0f s%n(peak RSS counts the JVM's heap as committed, garbage included, up to -Xmx; the "
                                + "fit of a JVM stage's memory is an upper bound)%n",
                        total);
        }
        if (json.json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("shape", shape.name());
            out.put("fullLayers", shape.layers);
            out.put("runs", jsonRuns);
            if (lo != hi) out.put("fullDepth", extrapolated);
            json.print(out);
        }
    }

    /** The line through (x0, y0) and (x1, y1), at x. */
    static double line(double y0, double y1, int x0, int x1, int x) {
        return y0 + (y1 - y0) * (x - x0) / (double) (x1 - x0);
    }

    /**
     * Random weights at the shape, as {@code pretrain} writes a model (config.json, model.safetensors) with a BPE
     * tokenizer trained on the LM corpus (4,096 tokens; the rest of the vocabulary is never produced).
     */
    static void writeRandomCheckpoint(LlamaConfig c, Path dir, long seed) throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        SplittableRandom random = new SplittableRandom(seed);
        for (Map.Entry<String, long[]> e : HfCheckpoint.requiredShapes(c).entrySet()) {
            String name = e.getKey();
            long[] s = e.getValue();
            float[] v = new float[Math.toIntExact(s.length == 2 ? s[0] * s[1] : s[0])];
            double scale = name.endsWith(".bias") ? 0.02 : s.length == 2 ? 1 / Math.sqrt(s[1]) : 0;
            for (int i = 0; i < v.length; i++)
                v[i] = name.endsWith("norm.weight") ? 1f : (float) (scale * gaussian(random));
            tensors.put(name, Tensor.ofFloats(v, s));
        }
        Files.createDirectories(dir);
        new HfCheckpoint(c, tensors).save(dir);
        List<String> texts = LmCorpus.load().train().stream()
                .map(LmCorpus.Document::text)
                .limit(200)
                .toList();
        BpeTokenizer.train(texts, 4096, List.of(Pretraining.END_OF_TEXT)).save(dir.resolve(Pretraining.TOKENIZER_FILE));
    }

    /** A standard normal draw (Box-Muller; SplittableRandom has no nextGaussian on Java 17). */
    private static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static long sizeOf(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile)
                    .mapToLong(f -> f.toFile().length())
                    .sum();
        }
    }
}
