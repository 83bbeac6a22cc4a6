package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.gguf.GgufDecoderExport;
import ai.coalora.engine.gguf.GgufFile;
import ai.coalora.engine.gguf.GgufLoraFile;
import ai.coalora.engine.gguf.GgufTypes;
import ai.coalora.engine.gguf.GgufValue;
import ai.coalora.engine.gguf.GgufWriter;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a llama.cpp device receives for one quantization configuration: the base decoder quantized by it
 * ({@value #MODEL}) and, from a {@link DecoderBundle}, the adapter folded for it ({@value #ADAPTER}, a GGUF LoRA for
 * that base file). llama.cpp runs them as {@code llama-cli -m model.gguf --lora adapter.gguf}.
 */
public final class GgufDeployment {
    public static final String MODEL = "model.gguf", ADAPTER = "adapter.gguf";

    /**
     * In {@value #MODEL} written with a bundle: the window length, in tokens, that the bundle's front perplexities were
     * measured on, so a device measures what the front predicts (each window from an empty context).
     */
    public static final String WINDOW_KEY = "coalora.window_tokens";

    /**
     * What was written, measured.
     *
     * @param adapter           null when no bundle was given (the base model alone)
     * @param ggufBitsPerWeight bits per weight of the quantized matrices in the GGUF types the mapping chose (what the
     *                          file really spends; the configuration's own average bits is what training assumed)
     * @param foldMillis        folding the configuration-aware network into A, for every matrix (0 without a bundle)
     */
    public record Written(
            Path model,
            Path adapter,
            double averageBits,
            double ggufBitsPerWeight,
            long modelBytes,
            long adapterBytes,
            double foldMillis,
            double seconds) {}

    private GgufDeployment() {}

    /**
     * Writes {@value #MODEL} (and, with {@code bundle}, {@value #ADAPTER}) into {@code outDir}. The configuration must
     * name exactly the checkpoint's quantizable matrices (an IllegalArgumentException otherwise, before anything is
     * written); each file is written atomically.
     *
     * @param bundle the trained model to fold, or null for the base model alone
     */
    public static Written write(
            HfCheckpoint checkpoint,
            BpeTokenizer tokenizer,
            ModelQuantConfig config,
            GgufTypes mapping,
            DecoderBundle.Instance bundle,
            Path outDir)
            throws IOException {
        long start = System.nanoTime();
        GgufDecoderExport.tensorTypes(checkpoint.config(), config, mapping); // checks the configuration fits this model
        Files.createDirectories(outDir);
        Path model = outDir.resolve(MODEL), adapter = null;
        GgufFile gguf = GgufDecoderExport.toGguf(checkpoint, tokenizer, config, mapping);
        if (bundle != null) gguf = gguf.with(WINDOW_KEY, GgufValue.uint32(bundle.seqLen()));
        GgufWriter.write(model, gguf);
        double foldMillis = 0;
        if (bundle != null) {
            adapter = outDir.resolve(ADAPTER);
            ConfigAwareLora coa = bundle.model();
            try (NDManager scope = bundle.manager().newSubManager()) {
                long t0 = System.nanoTime();
                LoraAdapter folded = coa.fold(config, scope);
                foldMillis = (System.nanoTime() - t0) / 1e6;
                GgufDecoderExport.exportLora(
                        checkpoint.config(),
                        config,
                        pairs(folded),
                        coa.lora().spec().alpha(),
                        adapter);
            }
        }
        return new Written(
                model,
                adapter,
                config.averageBits(),
                mapping.bitsPerWeight(config),
                Files.size(model),
                adapter == null ? 0 : Files.size(adapter),
                foldMillis,
                (System.nanoTime() - start) / 1e9);
    }

    /** A folded adapter as GGUF export wants it: per HF matrix name, A (rank x in) and B (out x rank). */
    static Map<String, GgufLoraFile.Pair> pairs(LoraAdapter lora) {
        Map<String, GgufLoraFile.Pair> out = new LinkedHashMap<>();
        int rank = lora.spec().rank();
        for (LinearId id : lora.matrices()) {
            long[] b = lora.b(id).getShape().getShape(),
                    a = lora.a(id).getShape().getShape();
            out.put(
                    id.weightName(),
                    new GgufLoraFile.Pair(
                            (int) b[0],
                            (int) a[1],
                            rank,
                            lora.a(id).toFloatArray(),
                            lora.b(id).toFloatArray()));
        }
        return out;
    }
}
