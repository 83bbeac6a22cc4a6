package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.GgufDeployment;
import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.gguf.GgufDecoderExport;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.LanguageModelLoss;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lm.TokenWindows;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.Progress;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real llama.cpp (the devices' runner) on a configuration exported from the fleet's test decoder version: it scores the
 * same text as our engine does on the same files, to within 0.2% perplexity (llama.cpp tokenizes with the GGUF's own
 * tokenizer, cuts the windows the model names and runs its own kernels; the engine reads the GGUF back, merges the
 * adapter and runs DJL), decodes exactly the tokens asked for, and answers bad requests with an error, not a hang.
 */
class LlamaCppIT {
    static final int WINDOWS = 6;

    @TempDir
    static Path dir;

    static Path version;
    static LlamaCpp llama;
    static GgufDeployment.Written files;
    static List<String> texts;
    static int window;

    @BeforeAll
    static void exportAConfiguration() throws Exception {
        String missing = LlamaCpp.unavailable();
        if (missing != null) System.out.println("[llama.cpp] skipped: " + missing);
        assumeTrue(missing == null, missing);
        assumeTrue(LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh");
        version = FleetDecoderBundle.TEST.ensure(Progress.NONE);
        DecoderBundle.Loaded bundle = DecoderBundle.read(version);
        ModelQuantConfig config = bundle.manifest().bestWithin(4.5).quantConfig();
        HfCheckpoint base = HfCheckpoint.load(version);
        try (NDManager manager = NDManager.newBaseManager();
                DecoderBundle.Instance instance = bundle.instantiate(base.config(), manager)) {
            files = GgufDeployment.write(
                    base,
                    BpeTokenizer.load(version.resolve(Pretraining.TOKENIZER_FILE)),
                    config,
                    GgufTypeMapping.K_QUANTS,
                    instance,
                    dir);
        }
        window = bundle.manifest().seqLen();
        texts = Example.texts(Tasks.builtin("sentiment").test()).subList(0, 60);
        llama = LlamaCpp.start(0);
    }

    @AfterAll
    static void stop() {
        if (llama != null) llama.close();
    }

    @Test
    void llamaCppAndTheEngineGiveTheSamePerplexityOnTheExportedFiles() throws Exception {
        LlamaCpp.Loaded loaded = llama.load("same", files.model(), files.adapter());
        assertEquals(window, loaded.window(), "the model names the window its front was scored on");
        LlamaCpp.Perplexity ours = llama.perplexity("same", texts, null, WINDOWS);

        BpeTokenizer tokenizer = BpeTokenizer.load(version.resolve(Pretraining.TOKENIZER_FILE));
        TokenWindows windows = TokenWindows.of(tokenizer, texts, window, WINDOWS);
        double loss;
        try (NDManager m = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.of(GgufDecoderExport.read(files.model(), files.adapter()), m)) {
            loss = LanguageModelLoss.meanLoss(decoder, windows, decoder.fullPrecision(), null);
        }
        System.out.printf(
                "[llama.cpp] %d windows of %d: llama.cpp perplexity %.4f, engine %.4f%n",
                ours.windows(), ours.window(), ours.perplexity(), Math.exp(loss));
        assertEquals(windows.count(), ours.windows(), "the same windows: the tokenizers agree");
        assertEquals(windows.count() * (window - 1L), ours.tokens());
        assertEquals(Math.exp(loss), ours.perplexity(), 0.002 * Math.exp(loss));
        assertTrue(loaded.modelBytes() > 0);
    }

    @Test
    void aSampleHasExactlyTheTokensAskedFor() throws Exception {
        llama.load("sample", files.model(), files.adapter());
        LlamaCpp.Sample s = llama.generate("sample", "The movie", 16, 3);
        assertEquals(16, s.tokens());
        assertTrue(s.tokensPerSecond() > 0 && !s.text().isEmpty(), s.toString());
        assertEquals(s.text(), llama.generate("sample", "The movie", 16, 3).text(), "a seed gives the same sample");
    }

    @Test
    void badRequestsAreAnsweredWithTheReason() throws Exception {
        IOException e = assertThrows(IOException.class, () -> llama.load("missing", dir.resolve("nothing.gguf"), null));
        assertTrue(e.getMessage().startsWith("llama.cpp: "), e.getMessage());
        e = assertThrows(IOException.class, () -> llama.perplexity("never-loaded", texts, null, 1));
        assertTrue(e.getMessage().contains("is not loaded"), e.getMessage());
        llama.load("bad", files.model(), null);
        e = assertThrows(IOException.class, () -> llama.perplexity("bad", List.of("too short"), 32, 0));
        assertTrue(e.getMessage().contains("fewer than one window"), e.getMessage());
        e = assertThrows(IOException.class, () -> llama.perplexity("bad", texts, 100_000, 0));
        assertTrue(e.getMessage().contains("must be 2.."), e.getMessage());
        // and it still serves
        assertTrue(llama.perplexity("bad", texts, null, 1).perplexity() > 1);
    }
}
