package ai.coalora.generator;

import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.security.FleetKeys;
import ai.coalora.fleet.service.EventService;
import ai.djl.ndarray.NDManager;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** The adapter-generator: the base model on the engine, then the assignment consumer. */
@ApplicationScoped
public class GeneratorService extends EventService {
    @ConfigProperty(name = "coalora.generator.work-dir")
    String workDir;

    @ConfigProperty(name = "coalora.generator.signing-key-file")
    String signingKeyFile;

    private volatile GenerationHandler handler;

    @Override
    public String name() {
        return "adapter-generator";
    }

    @Override
    protected ServiceRuntime open() throws Exception {
        System.setProperty("ai.djl.offline", "true"); // the engine never downloads at run time
        NDManager manager = closeOnStop(NDManager.newBaseManager());
        BertEncoder encoder = BertEncoder.miniLm(manager);
        RegistryClient registry = registryClient();
        Path dir = Path.of(workDir);
        VersionCache versions = closeOnStop(new VersionCache(registry, dir.resolve("versions"), encoder));
        AdapterPackager packager = new AdapterPackager(
                registry, OnnxWeights.read(MiniLmArtifact.onnxFile()), BertConfig.MINILM_L6, dir.resolve("scratch"));
        // no key, no packages: a generator that cannot sign stops at startup with the reason
        FleetKeys.Online signingKey = FleetKeys.readOnline(Path.of(signingKeyFile));
        handler = new GenerationHandler(dataSource, versions, packager, signingKey, meters);
        return startEvents(handler);
    }

    @Override
    public Map<String, Object> readinessData() {
        return Map.of("packagesGenerated", handler == null ? 0 : handler.generated());
    }
}
