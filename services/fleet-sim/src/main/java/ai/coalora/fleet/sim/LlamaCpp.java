package ai.coalora.fleet.sim;

import ai.coalora.engine.CacheDir;
import ai.coalora.engine.ProcessMemory;
import ai.coalora.fleet.events.Payloads;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real llama.cpp for the simulated GGUF devices: one Node.js process running node-llama-cpp's prebuilt CPU build (the
 * version and checksums {@code scripts/llama-cpp/package-lock.json} pins, installed by {@value #INSTALL}) with the
 * runner {@code llama-cpp/device.mjs}, spoken to in JSON lines. Packages are loaded once by key and shared by the devices
 * that run them; requests run one at a time (llama.cpp already uses every core for one).
 */
public final class LlamaCpp implements AutoCloseable {
    public static final String INSTALL = "scripts/install-llama-cpp.sh";

    /** What a loaded package holds in memory: the weights as llama.cpp keeps them, and the KV cache at its fullest. */
    public record Loaded(long modelBytes, long contextBytes, int contextSize, Integer window) {}

    /** Perplexity over {@code windows} windows of {@code window} tokens ({@code tokens} predicted). */
    public record Perplexity(
            int windows, int window, long tokens, double loss, double perplexity, double seconds, Loaded memory) {}

    /** A sample continuation and its decode speed. */
    public record Sample(String text, int tokens, double seconds, double tokensPerSecond, Loaded memory) {}

    private final Process process;
    private final OutputStream requests;
    private final BufferedReader answers;

    private LlamaCpp(Process process) {
        this.process = process;
        this.requests = process.getOutputStream();
        this.answers = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /**
     * The folder llama.cpp is installed in: {@code $COALORA_LLAMA_CPP}, else {@code llama-cpp} in the cache
     * ({@link CacheDir}), as {@value #INSTALL} puts it.
     */
    public static Path installDir() {
        String env = System.getenv("COALORA_LLAMA_CPP");
        return env != null && !env.isBlank() ? Path.of(env) : CacheDir.root().resolve("llama-cpp");
    }

    /** Why llama.cpp cannot run here (to print, or to skip a test with), or null when it can. */
    public static String unavailable() {
        Path dir = installDir();
        if (!Files.isDirectory(dir.resolve("node_modules").resolve("node-llama-cpp"))
                || !Files.isRegularFile(dir.resolve(".installed"))) {
            return "llama.cpp is not installed in " + dir + ": run " + INSTALL + " (npm, about 730 MB)";
        }
        try {
            Process p = new ProcessBuilder("node", "--version")
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) return "node --version failed";
        } catch (IOException e) {
            return "Node.js is not on the PATH (llama.cpp runs under node-llama-cpp): " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return null;
    }

    /**
     * Starts the runner on the installed llama.cpp; {@code threads} per evaluation (0: the machine's cores). An
     * IllegalStateException saying what to do when llama.cpp is not installed.
     */
    public static LlamaCpp start(int threads) throws IOException {
        String problem = unavailable();
        if (problem != null) throw new IllegalStateException(problem);
        Path dir = installDir();
        Path runner = dir.resolve("device.mjs"); // beside node_modules, so that node resolves node-llama-cpp there
        try (InputStream in = LlamaCpp.class.getResourceAsStream("/llama-cpp/device.mjs")) {
            if (in == null) throw new IllegalStateException("llama-cpp/device.mjs is missing from the classpath");
            Path tmp = Files.createTempFile(dir, "device", ".mjs.tmp");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, runner, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        ProcessBuilder pb = new ProcessBuilder("node", runner.toString(), Integer.toString(threads))
                .directory(dir.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("OPT_OUT_TRACKING", "true"); // node-llama-cpp phones home otherwise
        return new LlamaCpp(pb.start());
    }

    /** Loads {@code model} (a GGUF file) with {@code adapter} (a GGUF LoRA, or null) as package {@code key}. */
    public Loaded load(String key, Path model, Path adapter) throws IOException {
        ObjectNode r = request("load").put("key", key).put("model", model.toString());
        if (adapter != null) r.put("adapter", adapter.toString());
        return loaded(call(r));
    }

    /**
     * The perplexity of package {@code key} on {@code texts}: each text tokenized by the model's own tokenizer and
     * followed by its end-of-text token, cut into windows of {@code window} tokens (null: the window the model's
     * metadata names), at most {@code maxWindows} of them (0: all), each from an empty context.
     */
    public Perplexity perplexity(String key, List<String> texts, Integer window, int maxWindows) throws IOException {
        ObjectNode r = request("perplexity").put("key", key).put("maxWindows", maxWindows);
        r.set("texts", Payloads.JSON.valueToTree(texts));
        if (window != null) r.put("window", window);
        JsonNode a = call(r);
        return new Perplexity(
                a.get("windows").asInt(),
                a.get("window").asInt(),
                a.get("tokens").asLong(),
                a.get("loss").asDouble(),
                a.get("perplexity").asDouble(),
                a.get("seconds").asDouble(),
                loaded(a));
    }

    /** Up to {@code tokens} tokens continuing {@code prompt}, sampled with {@code seed}. */
    public Sample generate(String key, String prompt, int tokens, long seed) throws IOException {
        JsonNode a = call(request("generate")
                .put("key", key)
                .put("prompt", prompt)
                .put("tokens", tokens)
                .put("seed", seed));
        return new Sample(
                a.get("text").asText(),
                a.get("tokens").asInt(),
                a.get("seconds").asDouble(),
                a.get("tokensPerSecond").asDouble(),
                loaded(a));
    }

    /** The llama.cpp process's peak resident memory so far ({@link ProcessMemory}; -1 where it cannot be read). */
    public long peakBytes() {
        return ProcessMemory.peakBytes(process.pid());
    }

    public void unload(String key) throws IOException {
        call(request("unload").put("key", key));
    }

    private static ObjectNode request(String op) {
        return Payloads.JSON.createObjectNode().put("op", op);
    }

    private static Loaded loaded(JsonNode a) {
        JsonNode w = a.get("window");
        return new Loaded(
                a.get("modelBytes").asLong(),
                a.get("contextBytes").asLong(),
                a.get("contextSize").asInt(),
                w == null || w.isNull() ? null : w.asInt());
    }

    /** One request, its answer; a refusal by llama.cpp is an IOException with its message. */
    private synchronized JsonNode call(ObjectNode request) throws IOException {
        if (!process.isAlive()) throw new IOException("llama.cpp exited (status " + process.exitValue() + ")");
        requests.write(Payloads.JSON.writeValueAsBytes(request));
        requests.write('\n');
        requests.flush();
        String line = answers.readLine();
        if (line == null)
            throw new IOException(
                    "llama.cpp exited while answering " + request.get("op").asText());
        JsonNode a = Payloads.JSON.readTree(line);
        if (!a.path("ok").asBoolean())
            throw new IOException("llama.cpp: " + a.path("error").asText());
        return a;
    }

    @Override
    public void close() {
        try {
            requests.close(); // the runner disposes of what it loaded and exits
            if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
