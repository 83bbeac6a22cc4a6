package ai.coalora.trainer;

import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.service.EventService;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** The trainer: consumes retraining requests, answers each with a warm-started version. */
@ApplicationScoped
public class TrainerService extends EventService {
    @ConfigProperty(name = "coalora.kafka.bootstrap-servers")
    String bootstrapServers;

    @ConfigProperty(name = "coalora.registry.url")
    String registryUrl;

    @ConfigProperty(name = "coalora.registry.user")
    Optional<String> registryUser;

    @ConfigProperty(name = "coalora.registry.password")
    Optional<String> registryPassword;

    @ConfigProperty(name = "coalora.trainer.work-dir")
    String workDir;

    @ConfigProperty(name = "coalora.trainer.train-examples")
    int trainExamples;

    @ConfigProperty(name = "coalora.trainer.epochs")
    int epochs;

    @ConfigProperty(name = "coalora.trainer.initial-grid")
    int initialGrid;

    @ConfigProperty(name = "coalora.trainer.segments")
    int segments;

    @ConfigProperty(name = "coalora.trainer.candidates")
    int candidates;

    @ConfigProperty(name = "coalora.trainer.alias")
    String alias;

    final AgroalDataSource dataSource;
    final MeterRegistry meters;

    TrainerService(AgroalDataSource dataSource, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.meters = meters;
    }

    @Override
    public String name() {
        return "trainer";
    }

    @Override
    protected ServiceRuntime open() {
        System.setProperty("ai.djl.offline", "true"); // the engine never downloads at run time
        RetrainingHandler handler = new RetrainingHandler(
                dataSource,
                RegistryClient.of(registryUrl, registryUser.orElse(null), registryPassword.orElse(null)),
                Path.of(workDir),
                new RetrainingHandler.Schedule(trainExamples, epochs, initialGrid, segments, candidates, alias));
        return ServiceRuntime.start(
                "coalora-trainer",
                bootstrapServers,
                dataSource,
                List.of(Topic.RETRAINING_REQUESTS),
                List.of(),
                handler,
                meters);
    }
}
