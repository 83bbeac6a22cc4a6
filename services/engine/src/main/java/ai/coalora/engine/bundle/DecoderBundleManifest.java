package ai.coalora.engine.bundle;

import ai.coalora.common.Sha256;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.quant.ModelQuantConfig;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The manifest of a {@link DecoderBundle} ({@value #FORMAT}), stored as {@code bundle.json}.
 *
 * @param baseModel     the decoder folder the adapters apply to, identified by the checksums of its files
 * @param task          the adaptation text: task name, hash of its data, how many windows trained and scored
 * @param seqLen        tokens per training and scoring window
 * @param front         the final training set, each configuration with its exact average bits and the perplexity
 *                      of the quantized decoder with its folded adapter on the validation windows
 * @param training      how it was trained (the encoder bundle's record: epochs, AdamW, policy, timings, created time)
 * @param tensorsSha256 sha256 of {@code tensors.safetensors}; checked on every read
 */
public record DecoderBundleManifest(
        String format,
        BaseModel baseModel,
        Task task,
        int rank,
        float alpha,
        boolean configAware,
        String quantizer,
        int seqLen,
        List<FrontPoint> front,
        BundleManifest.Training training,
        String tensorsSha256) {
    public static final String FORMAT = "coalora.decoder-bundle/v1";

    /**
     * The base model: where it was ({@code path}, a hint for commands) and what it was (the checksums, which decide).
     *
     * @param configSha256    sha256 of {@code config.json}
     * @param weightsSha256   sha256 of {@code model.safetensors}, or of the index then every shard in name order
     * @param tokenizerSha256 sha256 of {@code tokenizer.json}: the token ids the adapter was trained on
     */
    public record BaseModel(
            String path,
            String architecture,
            int numLayers,
            int hiddenSize,
            int vocabSize,
            String configSha256,
            String weightsSha256,
            String tokenizerSha256) {

        /** Identifies the decoder folder {@code dir} (reads and hashes its config, weights and tokenizer). */
        public static BaseModel of(Path dir) throws IOException {
            Path configFile = dir.resolve(HfCheckpoint.CONFIG), tokenizer = dir.resolve(Pretraining.TOKENIZER_FILE);
            if (!Files.isRegularFile(configFile)) throw new NoSuchFileException(configFile.toString());
            if (!Files.isRegularFile(tokenizer)) throw new NoSuchFileException(tokenizer.toString());
            LlamaConfig c = LlamaConfig.read(configFile);
            return new BaseModel(
                    dir.toAbsolutePath().normalize().toString(),
                    c.architecture(),
                    c.numLayers(),
                    c.hiddenSize(),
                    c.vocabSize(),
                    Sha256.of(configFile),
                    Sha256.of(weightFiles(dir)),
                    Sha256.of(tokenizer));
        }

        private static List<Path> weightFiles(Path dir) throws IOException {
            Map<String, Path> files = new TreeMap<>();
            try (var list = Files.list(dir)) {
                list.filter(Files::isRegularFile)
                        .forEach(f -> files.put(f.getFileName().toString(), f));
            }
            return weightFiles(files, dir.toString());
        }

        /**
         * The weight files among {@code files} (by file name) in the order their checksum is taken: the single
         * {@code model.safetensors}, or the index then every {@code model-*.safetensors} shard in name order.
         */
        private static List<Path> weightFiles(Map<String, Path> files, String where) {
            if (files.containsKey(HfCheckpoint.SINGLE_FILE)) return List.of(files.get(HfCheckpoint.SINGLE_FILE));
            if (!files.containsKey(HfCheckpoint.INDEX)) {
                throw new IllegalArgumentException(
                        where + " holds neither " + HfCheckpoint.SINGLE_FILE + " nor " + HfCheckpoint.INDEX);
            }
            List<Path> out = new ArrayList<>(List.of(files.get(HfCheckpoint.INDEX)));
            new TreeMap<>(files).forEach((name, f) -> {
                if (name.matches(SHARD)) out.add(f);
            });
            return out;
        }

        /** A shard of a sharded checkpoint, as Hugging Face names them. */
        public static final String SHARD = "model-.*\\.safetensors";

        /**
         * Checks that {@code files} (by file name, wherever they are stored) are this base model: its
         * {@code config.json}, {@code tokenizer.json} and weights, each by checksum. Anything missing or different is
         * an IllegalArgumentException that names the file and both checksums.
         */
        public void checkFiles(Map<String, Path> files) throws IOException {
            check(files, HfCheckpoint.CONFIG, configSha256);
            check(files, Pretraining.TOKENIZER_FILE, tokenizerSha256);
            String weights = Sha256.of(weightFiles(files, "the base model's files"));
            if (!weights.equals(weightsSha256))
                throw new IllegalArgumentException("the weights are not the bundle's base model's (sha256 " + weights
                        + ", the bundle was trained on " + weightsSha256 + ")");
        }

        private static void check(Map<String, Path> files, String name, String expected) throws IOException {
            Path f = files.get(name);
            if (f == null) throw new IllegalArgumentException("the base model's " + name + " is missing");
            String found = Sha256.of(f);
            if (!found.equals(expected))
                throw new IllegalArgumentException(name + " is not the bundle's base model's (sha256 " + found
                        + ", the bundle was trained on " + expected + ")");
        }

        /** Same model: same config, weights and tokenizer (the path may differ: folders move). */
        public boolean sameModelAs(BaseModel other) {
            return configSha256.equals(other.configSha256)
                    && weightsSha256.equals(other.weightsSha256)
                    && tokenizerSha256.equals(other.tokenizerSha256);
        }
    }

    /**
     * @param dataSha256        sha256 of the task's source data
     * @param trainWindows      windows of {@code seqLen} tokens trained on (from the train split)
     * @param validationWindows windows the front's perplexities are measured on (from the validation split)
     */
    public record Task(String name, String dataSha256, int trainWindows, int validationWindows) {}

    /** One configuration of the front; {@code config} is a {@code coalora.quant-config/v1} object. */
    public record FrontPoint(double averageBits, double validationPerplexity, double validationLoss, JsonNode config) {
        public ModelQuantConfig quantConfig() {
            return BundleFiles.quantConfig(config);
        }

        public static FrontPoint of(ModelQuantConfig config, double loss) {
            return new FrontPoint(config.averageBits(), Math.exp(loss), loss, BundleFiles.json(config));
        }
    }

    /** The front configuration of lowest validation perplexity with average bits <= budget (fewer bits on a tie). */
    public FrontPoint bestWithin(double budgetBits) {
        return BundleFiles.bestWithin(
                front,
                FrontPoint::averageBits,
                budgetBits,
                Comparator.comparingDouble(FrontPoint::validationLoss).thenComparingDouble(FrontPoint::averageBits));
    }

    public DecoderBundleManifest withTensorsSha256(String sha) {
        return new DecoderBundleManifest(
                format, baseModel, task, rank, alpha, configAware, quantizer, seqLen, front, training, sha);
    }

    /** Checks what Jackson cannot: the format, required parts, sane values, and that every front configuration parses. */
    void validate(String where) {
        if (!FORMAT.equals(format))
            throw new IllegalArgumentException(
                    where + ": unknown bundle format '" + format + "' (expected " + FORMAT + ")");
        if (baseModel == null
                || task == null
                || front == null
                || training == null
                || tensorsSha256 == null
                || quantizer == null) {
            throw new IllegalArgumentException(
                    where + ": manifest lacks baseModel, task, front, training, quantizer or tensorsSha256");
        }
        if (baseModel.configSha256() == null
                || baseModel.weightsSha256() == null
                || baseModel.tokenizerSha256() == null) {
            throw new IllegalArgumentException(
                    where + ": baseModel lacks the checksums of its config, weights or tokenizer");
        }
        if (rank < 1 || !(alpha > 0))
            throw new IllegalArgumentException(where + ": invalid LoRA rank " + rank + " or alpha " + alpha);
        if (seqLen < 2) throw new IllegalArgumentException(where + ": invalid seqLen " + seqLen);
        if (front.isEmpty()) throw new IllegalArgumentException(where + ": empty front");
        training.checkPhaseSeconds(where);
        for (int i = 0; i < front.size(); i++)
            BundleFiles.frontConfig(
                    where, i, front.get(i).config(), front.get(i).averageBits());
    }
}
