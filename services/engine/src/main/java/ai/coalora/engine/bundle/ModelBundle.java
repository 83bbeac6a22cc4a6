package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.ConfigAwareLora;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.Role;
import ai.coalora.engine.train.ClassifierHead;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The trained artifact of CoA-LoRA: a directory with
 * <ul>
 *   <li>{@value #MANIFEST}: the self-describing {@link BundleManifest} (format, base model and its checksum,
 *       task and data hashes, LoRA spec, the final Pareto front, training metadata, the tensors' checksum);</li>
 *   <li>{@value #TENSORS}: every trained array in safetensors form: {@code lora.<weight name>.A} (r x in),
 *       {@code lora.<weight name>.B} (out x r), {@code network.<parameter>} (the configuration-aware network),
 *       {@code head.weight} (labels x hidden), {@code head.bias}.</li>
 * </ul>
 * A bundle is written into a temporary sibling directory and moved into place, so a reader never sees half
 * of one; reading verifies the tensors' checksum and every name and shape, and values load back bit-exactly.
 */
public final class ModelBundle {
    public static final String MANIFEST = BundleFiles.MANIFEST, TENSORS = BundleFiles.TENSORS;

    /**
     * The format the manifest of the bundle at {@code dir} names ({@link BundleManifest#FORMAT} for an encoder's,
     * {@link DecoderBundleManifest#FORMAT} for a decoder's), "" when it names none: what decides how to read it.
     */
    public static String formatOf(Path dir) throws IOException {
        return JSON.readTree(dir.resolve(MANIFEST).toFile()).path("format").asText("");
    }

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** A bundle read from disk: its manifest and its tensors, not yet on the engine. */
    public record Loaded(BundleManifest manifest, Map<String, Tensor> tensors, Path dir) {

        /** The trained model on the engine: shared LoRA, network (null for Shared-LoRA) and head. */
        public Instance instantiate(BertEncoder encoder, NDManager parent) {
            return instantiate(encoder, parent, false);
        }

        /**
         * The trained model as the starting point of more training (a warm start): like {@link #instantiate}, but every
         * array — each LoRA A and B, the network's parameters, the head — is a copy in native-owned memory that requires
         * gradients, so an optimizer may update it in place. The copies share no memory with this bundle's tensors
         * (which are bytes, decoded afresh on every call) or with another instance.
         */
        public Instance instantiateTrainable(BertEncoder encoder, NDManager parent) {
            return instantiate(encoder, parent, true);
        }

        private Instance instantiate(BertEncoder encoder, NDManager parent, boolean trainable) {
            BundleManifest m = manifest;
            if (encoder.config().numLayers() != m.baseModel().numLayers()
                    || encoder.config().hiddenSize() != m.baseModel().hiddenSize()) {
                throw new IllegalArgumentException(dir + ": bundle was trained on a model with "
                        + m.baseModel().numLayers() + " blocks of width "
                        + m.baseModel().hiddenSize());
            }
            NDManager manager = parent.newSubManager();
            try {
                Map<LinearId, int[]> shapes = new LinkedHashMap<>();
                for (LinearId id : encoder.linearIds()) shapes.put(id, encoder.linearShape(id));
                ConfigAwareLora model = BundleTensors.configAwareLora(
                        tensors,
                        dir,
                        shapes,
                        new LoraSpec(m.rank(), m.alpha()),
                        m.configAware(),
                        Role.Architecture.ENCODER,
                        m.baseModel().numLayers(),
                        manager,
                        trainable);
                int hidden = encoder.config().hiddenSize(),
                        labels = m.task().labels().size();
                ClassifierHead head = new ClassifierHead(
                        hidden,
                        labels,
                        floats("head.weight", (long) labels * hidden),
                        floats("head.bias", labels),
                        manager);
                return new Instance(model, head, manager);
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        }

        private float[] floats(String name, long count) {
            return BundleTensors.floats(tensors, dir, name, count);
        }
    }

    /** A bundle on the engine; closing frees it. */
    public record Instance(ConfigAwareLora model, ClassifierHead head, NDManager manager) implements AutoCloseable {
        @Override
        public void close() {
            manager.close();
        }
    }

    private ModelBundle() {}

    /** The tensors of a trained model, by bundle name. */
    public static Map<String, Tensor> tensorsOf(ConfigAwareLora model, ClassifierHead head) {
        Map<String, Tensor> out = BundleTensors.of(model);
        out.put("head.weight", BundleTensors.tensor(head.weight()));
        out.put("head.bias", BundleTensors.tensor(head.bias()));
        return out;
    }

    /**
     * Writes a bundle to {@code dir}; the manifest's tensor checksum is filled in here. An existing bundle
     * at {@code dir} is replaced as a whole; any other existing file or non-empty directory is an error.
     */
    public static BundleManifest write(Path dir, BundleManifest manifest, Map<String, Tensor> tensors)
            throws IOException {
        return BundleFiles.write(dir, BundleManifest.FORMAT, tensors, manifest::withTensorsSha256);
    }

    /** Reads and verifies a bundle: format, checksum of the tensors, names. Errors name the file and the problem. */
    public static Loaded read(Path dir) throws IOException {
        BundleManifest manifest = BundleFiles.readManifest(dir, JSON, BundleManifest.FORMAT, BundleManifest.class);
        manifest.validate(dir.resolve(MANIFEST).toString());
        return new Loaded(
                manifest, BundleFiles.readTensors(dir, manifest.tensorsSha256()).tensors(), dir);
    }
}
