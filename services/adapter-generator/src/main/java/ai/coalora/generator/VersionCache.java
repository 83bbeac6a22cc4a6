package ai.coalora.generator;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.quant.ModelQuantConfig;
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
    /** A version ready to emit adapters: its id and its front by configuration id. */
    sealed interface Version extends AutoCloseable permits Encoder, Decoder {
        String id();

        Map<String, ModelQuantConfig> front();

        @Override
        void close();
    }

    /** An encoder classifier's version: its bundle and the configuration-aware model on the base encoder. */
    record Encoder(
            String id, ModelBundle.Loaded loaded, ModelBundle.Instance instance, Map<String, ModelQuantConfig> front)
            implements Version {
        @Override
        public void close() {
            instance.close();
        }
    }

    /**
     * A decoder's version: the base model it came with (weights and tokenizer, as GGUF export needs them) and the
     * configuration-aware model on its shapes.
     */
    record Decoder(
            String id,
            HfCheckpoint checkpoint,
            BpeTokenizer tokenizer,
            DecoderBundle.Instance instance,
            Map<String, ModelQuantConfig> front)
            implements Version {
        @Override
        public void close() {
            instance.close();
        }
    }

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
        String format = ModelBundle.formatOf(versionDir);
        Map<String, ModelQuantConfig> front = new HashMap<>();
        if (DecoderBundleManifest.FORMAT.equals(format)) {
            DecoderBundle.Loaded loaded = DecoderBundle.read(versionDir);
            for (DecoderBundleManifest.FrontPoint p : loaded.manifest().front()) {
                ModelQuantConfig c = p.quantConfig();
                front.put(c.configId(), c);
            }
            HfCheckpoint checkpoint = HfCheckpoint.load(versionDir); // the registry checked it is the bundle's base
            v = new Decoder(
                    modelVersion,
                    checkpoint,
                    BpeTokenizer.load(versionDir.resolve(Pretraining.TOKENIZER_FILE)),
                    loaded.instantiate(checkpoint.config(), encoder.manager()),
                    front);
        } else if (BundleManifest.FORMAT.equals(format)) {
            ModelBundle.Loaded loaded = ModelBundle.read(versionDir);
            for (BundleManifest.FrontPoint p : loaded.manifest().front()) {
                ModelQuantConfig c = p.quantConfig();
                front.put(c.configId(), c);
            }
            v = new Encoder(modelVersion, loaded, loaded.instantiate(encoder, encoder.manager()), front);
        } else {
            throw new Unservable("version " + modelVersion + " is a bundle of unknown format '" + format + "'");
        }
        versions.put(modelVersion, v);
        return v;
    }

    @Override
    public synchronized void close() {
        versions.values().forEach(Version::close);
        versions.clear();
    }
}
