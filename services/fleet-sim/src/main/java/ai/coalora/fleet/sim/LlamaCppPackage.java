package ai.coalora.fleet.sim;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.io.FileTrees;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.planning.QualityMeasure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A GGUF package on real llama.cpp: {@code model.gguf} loaded with {@code adapter.gguf} as its LoRA, from the files the
 * device verified (written to its storage first, as llama.cpp reads files). A device measures perplexity on its own
 * held-out text (the window the model's metadata names, so the number compares with the front's prediction) and
 * generates a short sample from its own prompt, whose decode speed is the tokens/s it reports. Drift reverses the
 * order of the words in each text: the language the device sees is no longer the one the model learned.
 */
final class LlamaCppPackage implements RunningPackage {
    static final String MODEL_ROLE = "gguf-model", ADAPTER_ROLE = "gguf-adapter";
    static final int SAMPLE_TOKENS = 24, PROMPT_WORDS = 4;

    private final LlamaCpp llama;
    private final String key;
    private final Path dir;
    private final long adapterBytes;

    /** Whether a package is for llama.cpp (its files are GGUF). */
    static boolean isGguf(List<Artifact> artifacts) {
        return artifacts.stream().anyMatch(a -> a.role().equals(MODEL_ROLE));
    }

    LlamaCppPackage(
            LlamaCpp llama, String packageSha256, List<Artifact> artifacts, Map<String, byte[]> files, Path storage)
            throws IOException {
        this.llama = llama;
        this.key = packageSha256;
        this.dir = Files.createDirectories(storage.resolve(packageSha256));
        Path model = null, adapter = null;
        for (Artifact a : artifacts) {
            Path f = dir.resolve(
                    a.role().equals(MODEL_ROLE)
                            ? "model.gguf"
                            : a.role().equals(ADAPTER_ROLE) ? "adapter.gguf" : a.name());
            Files.write(f, files.get(a.name()));
            if (a.role().equals(MODEL_ROLE)) model = f;
            if (a.role().equals(ADAPTER_ROLE)) adapter = f;
        }
        if (model == null) throw new IllegalArgumentException("the package has no " + MODEL_ROLE + " file");
        this.adapterBytes = adapter == null ? 0 : Files.size(adapter);
        llama.load(key, model, adapter);
    }

    @Override
    public Measurement measure(String device, List<Example> shard, boolean drift) {
        List<String> texts = shard.stream()
                .map(Example::text)
                .map(t -> drift ? reversedWords(t) : t)
                .toList();
        try {
            LlamaCpp.Perplexity p = llama.perplexity(key, texts, null, 0);
            String prompt = Arrays.stream(texts.get(0).split("\\s+"))
                    .limit(PROMPT_WORDS)
                    .collect(Collectors.joining(" "));
            LlamaCpp.Sample s = llama.generate(key, prompt, SAMPLE_TOKENS, device.hashCode());
            long memory = s.memory().modelBytes() + adapterBytes + s.memory().contextBytes();
            return new Measurement(
                    QualityMeasure.PERPLEXITY,
                    p.perplexity(),
                    p.windows(),
                    p.seconds() * 1000 / p.windows(),
                    memory,
                    s.tokensPerSecond(),
                    prompt + s.text(),
                    String.format(
                            "llama.cpp: perplexity %.2f on %d windows of %d tokens; %d tokens sampled at %.1f tokens/s",
                            p.perplexity(), p.windows(), p.window(), s.tokens(), s.tokensPerSecond()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String reversedWords(String text) {
        List<String> words = Arrays.asList(text.strip().split("\\s+"));
        Collections.reverse(words);
        return String.join(" ", words);
    }

    @Override
    public void close() {
        try {
            llama.unload(key);
        } catch (IOException | RuntimeException e) {
            // the runner is gone already: nothing is loaded
        }
        try {
            FileTrees.delete(dir);
        } catch (IOException e) {
            // storage is reclaimed with the agents' folder
        }
    }
}
