package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.Role;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The trained artifact of CoA-LoRA on a Llama / Qwen2 decoder: a directory, in the same form as the encoder's
 * {@link ModelBundle}, with
 * <ul>
 *   <li>{@code bundle.json}: the {@link DecoderBundleManifest} (format {@value DecoderBundleManifest#FORMAT}, the base
 *       model folder and the checksums of its config, weights and tokenizer, the adaptation task, LoRA spec, the final
 *       front with validation perplexities, training metadata, the tensors' checksum);</li>
 *   <li>{@code tensors.safetensors}: {@code lora.<weight name>.A} (r x in), {@code lora.<weight name>.B} (out x r) per
 *       quantized matrix and {@code network.<parameter>} (the configuration-aware network). No head: the decoder's
 *       own {@code lm_head} is the output, and it stays the base model's.</li>
 * </ul>
 * The base model is not copied into the bundle (it is the large part and is shared by every bundle trained on it);
 * instead the manifest's checksums refuse any other model.
 */
public final class DecoderBundle {
    private DecoderBundle() {}

    /** A bundle read from disk and verified: its manifest and its tensors, not yet on the engine. */
    public record Loaded(DecoderBundleManifest manifest, Map<String, Tensor> tensors, Path dir) {

        /** The base model folder the manifest names (where it was at training time). */
        public Path baseModelPath() {
            return Path.of(manifest.baseModel().path());
        }

        /**
         * Refuses a decoder folder that is not the model this bundle was trained on (another config, other weights or
         * another tokenizer) with an IllegalArgumentException saying which part differs.
         */
        public void checkBaseModel(Path modelDir) throws IOException {
            DecoderBundleManifest.BaseModel expected = manifest.baseModel(),
                    found = DecoderBundleManifest.BaseModel.of(modelDir);
            if (expected.sameModelAs(found)) return;
            String part = !expected.configSha256().equals(found.configSha256())
                    ? "config.json differs"
                    : !expected.weightsSha256().equals(found.weightsSha256())
                            ? "weights differ"
                            : "tokenizer.json differs";
            throw new IllegalArgumentException(dir + " was trained on the model at " + expected.path() + " ("
                    + expected.architecture()
                    + ", " + expected.numLayers() + " blocks of width " + expected.hiddenSize() + "); " + modelDir
                    + " is another model (its " + part + ")");
        }

        /** The trained model for {@code decoder} (architecture and shapes checked), in a sub-manager of {@code parent}. */
        public Instance instantiate(LlamaDecoder decoder, NDManager parent) {
            return instantiate(decoder.config(), parent);
        }

        /**
         * The trained model for a decoder of shape {@code config}: enough to fold adapters without loading the decoder's
         * weights on the engine.
         */
        public Instance instantiate(LlamaConfig config, NDManager parent) {
            return instantiate(config, parent, false);
        }

        /**
         * The trained model with gradients on every array, to continue training from (a warm start): a copy in a
         * sub-manager of {@code parent}, so training never writes back into this bundle's tensors.
         */
        public Instance instantiateTrainable(LlamaDecoder decoder, NDManager parent) {
            return instantiate(decoder.config(), parent, true);
        }

        private Instance instantiate(LlamaConfig config, NDManager parent, boolean trainable) {
            DecoderBundleManifest.BaseModel b = manifest.baseModel();
            if (!config.architecture().equals(b.architecture())
                    || config.numLayers() != b.numLayers()
                    || config.hiddenSize() != b.hiddenSize()
                    || config.vocabSize() != b.vocabSize()) {
                throw new IllegalArgumentException(
                        dir + ": bundle was trained on a " + b.architecture() + " with " + b.numLayers()
                                + " blocks of width " + b.hiddenSize() + " and " + b.vocabSize()
                                + " tokens, not on this " + config.architecture()
                                + " (" + config.numLayers() + " blocks of width " + config.hiddenSize() + ", "
                                + config.vocabSize() + " tokens)");
            }
            Map<String, long[]> hfShapes = HfCheckpoint.requiredShapes(config);
            Map<LinearId, int[]> shapes = new LinkedHashMap<>();
            for (LinearId id : LinearId.all(Role.Architecture.DECODER, config.numLayers())) {
                long[] s = hfShapes.get(id.weightName());
                shapes.put(id, new int[] {(int) s[0], (int) s[1]});
            }
            NDManager manager = parent.newSubManager();
            try {
                return new Instance(
                        BundleTensors.configAwareLora(
                                tensors,
                                dir,
                                shapes,
                                new LoraSpec(manifest.rank(), manifest.alpha()),
                                manifest.configAware(),
                                Role.Architecture.DECODER,
                                config.numLayers(),
                                manager,
                                trainable),
                        manifest.seqLen(),
                        manager);
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        }
    }

    /**
     * A bundle on the engine: the shared LoRA and the network (null for Shared-LoRA), and the window length its front was
     * scored on (what a device measures perplexity on to compare with it); closing frees them.
     */
    public record Instance(ConfigAwareLora model, int seqLen, NDManager manager) implements AutoCloseable {
        @Override
        public void close() {
            manager.close();
        }
    }

    /** The tensors of a trained model, by bundle name. */
    public static Map<String, Tensor> tensorsOf(ConfigAwareLora model) {
        return BundleTensors.of(model);
    }

    /**
     * Writes a bundle to {@code dir}; the manifest's tensor checksum is filled in here. An existing bundle at {@code dir}
     * is replaced as a whole; any other existing file or non-empty directory is an error.
     */
    public static DecoderBundleManifest write(Path dir, DecoderBundleManifest manifest, Map<String, Tensor> tensors)
            throws IOException {
        return BundleFiles.write(dir, DecoderBundleManifest.FORMAT, tensors, manifest::withTensorsSha256);
    }

    /** Reads and verifies a bundle: format, manifest, checksum of the tensors. Errors name the file and the problem. */
    public static Loaded read(Path dir) throws IOException {
        DecoderBundleManifest manifest = BundleFiles.readManifest(
                dir, ModelBundle.JSON, DecoderBundleManifest.FORMAT, DecoderBundleManifest.class);
        manifest.validate(dir.resolve(BundleFiles.MANIFEST).toString());
        return new Loaded(
                manifest, BundleFiles.readTensors(dir, manifest.tensorsSha256()).tensors(), dir);
    }
}
