package ai.coalora.generator;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.registry.RegistryClient;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Model versions on the engine. A version is fetched from the registry once, file by file with each
 * checksum verified, kept on local disk, and instantiated (the configuration-aware model) on first use.
 */
final class VersionCache implements AutoCloseable {
    /** A version ready to emit adapters: its bundle, the model on the engine, and its front by configuration id. */
    record Version(
            String id, ModelBundle.Loaded loaded, ModelBundle.Instance instance, Map<String, ModelQuantConfig> front) {}

    /**
     * The version cannot be served: the registry does not know it, or it is not an encoder bundle (not transient: the
     * event naming it is rejected with the reason).
     */
    static final class Unservable extends IOException {
        Unservable(String message) {
            super(message);
        }
    }

    private final RegistryClient registry;
    private final Path dir;
    private final BertEncoder encoder;
    private final Map<String, Version> versions = new HashMap<>();

    VersionCache(RegistryClient registry, Path dir, BertEncoder encoder) {
        this.registry = registry;
        this.dir = dir;
        this.encoder = encoder;
    }

    synchronized Version get(String modelVersion) throws IOException {
        Version v = versions.get(modelVersion);
        if (v != null) return v;
        if (!Sha256.isValid(modelVersion)) throw new Unservable("model version '" + modelVersion + "' is not a sha256");
        Path versionDir = dir.resolve(modelVersion);
        try {
            registry.downloadVersion(modelVersion, versionDir);
        } catch (FileNotFoundException e) {
            throw new Unservable(e.getMessage());
        }
        String format = Payloads.JSON
                .readTree(versionDir.resolve(ModelBundle.MANIFEST).toFile())
                .path("format")
                .asText("");
        if (!BundleManifest.FORMAT.equals(format))
            throw new Unservable("version " + modelVersion + " is a " + format
                    + " bundle: this generator packages encoder versions (" + BundleManifest.FORMAT + ") only");
        ModelBundle.Loaded loaded = ModelBundle.read(versionDir);
        Map<String, ModelQuantConfig> front = new HashMap<>();
        for (BundleManifest.FrontPoint p : loaded.manifest().front()) {
            ModelQuantConfig c = p.quantConfig();
            front.put(c.configId(), c);
        }
        v = new Version(modelVersion, loaded, loaded.instantiate(encoder, encoder.manager()), front);
        versions.put(modelVersion, v);
        return v;
    }

    @Override
    public synchronized void close() {
        versions.values().forEach(v -> v.instance().close());
        versions.clear();
    }
}
