package ai.coalora.generator;

import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.registry.RegistryClient;
import ai.djl.ndarray.NDManager;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Starts the adapter-generator: the base model on the engine, then the assignment consumer. */
@ApplicationScoped
public class GeneratorService {
    @ConfigProperty(name = "coalora.kafka.bootstrap-servers") String bootstrapServers;
    @ConfigProperty(name = "coalora.registry.url") String registryUrl;
    @ConfigProperty(name = "coalora.registry.user") Optional<String> registryUser;
    @ConfigProperty(name = "coalora.registry.password") Optional<String> registryPassword;
    @ConfigProperty(name = "coalora.generator.work-dir") String workDir;
    final AgroalDataSource dataSource;
    final MeterRegistry meters;
    ServiceRuntime runtime;
    GenerationHandler handler;
    private NDManager manager;
    private VersionCache versions;

    GeneratorService(AgroalDataSource dataSource, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.meters = meters;
    }

    void start(@Observes StartupEvent ignored) throws Exception {
        // the engine never downloads at run time
        System.setProperty("ai.djl.offline", "true");
        manager = NDManager.newBaseManager();
        BertEncoder encoder = BertEncoder.miniLm(manager);
        RegistryClient registry = RegistryClient.of(registryUrl, registryUser.orElse(null), registryPassword.orElse(null));
        Path dir = Path.of(workDir);
        versions = new VersionCache(registry, dir.resolve("versions"), encoder);
        AdapterPackager packager = new AdapterPackager(registry, OnnxWeights.read(MiniLmArtifact.onnxFile()), BertConfig.MINILM_L6, dir.resolve("scratch"));
        handler = new GenerationHandler(dataSource, versions, packager, meters);
        runtime = ServiceRuntime.start("coalora-adapter-generator", bootstrapServers, dataSource,
                List.of(Topic.ASSIGNMENTS), List.of(Topic.ADAPTERS_READY), handler, meters);
    }

    // accessors, not fields: callers hold a CDI client proxy, whose own fields are never set
    ServiceRuntime runtime() { return runtime; }

    GenerationHandler handler() { return handler; }

    void stop(@Observes ShutdownEvent ignored) {
        if (runtime != null) runtime.close();
        if (versions != null) versions.close();
        if (manager != null) manager.close();
    }
}
