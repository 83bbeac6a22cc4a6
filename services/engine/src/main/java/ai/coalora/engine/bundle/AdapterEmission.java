package ai.coalora.engine.bundle;

import ai.coalora.engine.io.PeftAdapter;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.Role;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Emits the adapter of one configuration from a bundle: M folded into A (an ordinary LoRA, milliseconds),
 * written in the Hugging Face PEFT layout plus {@value #SIDECAR}, which names the configuration it was
 * made for (per matrix), its exact average bits and the model version (the bundle's tensor checksum).
 */
public final class AdapterEmission {
    public static final String SIDECAR = "coalora-adapter.json",
            CONFIG = "quant-config.json",
            HEAD = "head.safetensors";
    /** The sidecar's {@code format}. */
    public static final String SIDECAR_FORMAT = "coalora.adapter/v1";
    /** Metadata key of the adapter weights file naming the model version they belong to. */
    public static final String MODEL_VERSION_METADATA = "coalora.model_version";
    /** Names the code that emitted an adapter (the sidecar's {@code generator}). */
    public static final String GENERATOR = "coalora-engine/adapter-emission/1";

    /** What was emitted. */
    public record Emitted(Path dir, double averageBits, double foldMillis, String modelVersion) {}

    private AdapterEmission() {}

    /** Emits with the bundle's tensor checksum as the model version (a bundle used outside a registry). */
    public static Emitted write(
            ModelBundle.Loaded loaded, ModelBundle.Instance bundle, ModelQuantConfig config, Path dir)
            throws IOException {
        return write(loaded, bundle, config, dir, loaded.manifest().tensorsSha256());
    }

    /** @param modelVersion what the files name as their model version (a registry's version id) */
    public static Emitted write(
            ModelBundle.Loaded loaded,
            ModelBundle.Instance bundle,
            ModelQuantConfig config,
            Path dir,
            String modelVersion)
            throws IOException {
        long t0 = System.nanoTime();
        Map<String, PeftAdapter.LoraPair> pairs = new TreeMap<>();
        double foldMillis;
        try (NDManager scope = bundle.manager().newSubManager();
                LoraAdapter folded = bundle.model().fold(config, scope)) {
            for (LinearId id : folded.matrices()) {
                long[] a = folded.a(id).getShape().getShape(),
                        b = folded.b(id).getShape().getShape();
                pairs.put(
                        id.weightName(),
                        new PeftAdapter.LoraPair(
                                (int) b[0],
                                (int) a[1],
                                folded.a(id).toFloatArray(),
                                folded.b(id).toFloatArray()));
            }
            foldMillis = (System.nanoTime() - t0) / 1e6;
        }
        BundleManifest m = loaded.manifest();
        List<String> targets =
                Role.Architecture.ENCODER.roles().stream().map(Role::hfModule).toList();
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put(MODEL_VERSION_METADATA, modelVersion);
        metadata.put("coalora.average_bits", Double.toString(config.averageBits()));
        new PeftAdapter(m.baseModel().name(), m.rank(), m.alpha(), targets, "SEQ_CLS", pairs, metadata).write(dir);
        config.write(dir.resolve(CONFIG));
        // the task head is not part of a PEFT LoRA; the device needs it to classify
        ai.coalora.engine.io.Safetensors.write(
                dir.resolve(HEAD),
                Map.of(
                        "weight",
                                ai.coalora.engine.io.Safetensors.Tensor.ofFloats(
                                        bundle.head().weight().toFloatArray(),
                                        bundle.head().weight().getShape().getShape()),
                        "bias",
                                ai.coalora.engine.io.Safetensors.Tensor.ofFloats(
                                        bundle.head().bias().toFloatArray(),
                                        bundle.head().bias().getShape().getShape())),
                Map.of("labels", String.join(",", m.task().labels())));
        Map<String, Object> sidecar = new LinkedHashMap<>();
        sidecar.put("format", SIDECAR_FORMAT);
        sidecar.put("modelVersion", modelVersion);
        sidecar.put("baseModel", m.baseModel());
        sidecar.put("task", m.task().name());
        sidecar.put("labels", m.task().labels());
        sidecar.put("quantizer", config.quantizer().jsonName());
        sidecar.put("averageBits", config.averageBits());
        sidecar.put("quantConfig", CONFIG);
        // the per-matrix configuration inline too, so the sidecar alone says what the adapter was made for
        sidecar.put("configuration", ModelBundle.JSON.readTree(config.toJson()));
        sidecar.put("configId", config.configId());
        sidecar.put("head", HEAD);
        // no timings here: the same configuration of the same version must give byte-identical files (content
        // addressing)
        sidecar.put("generator", GENERATOR);
        Files.write(dir.resolve(SIDECAR), ModelBundle.JSON.writeValueAsBytes(sidecar));
        return new Emitted(dir, config.averageBits(), foldMillis, modelVersion);
    }
}
