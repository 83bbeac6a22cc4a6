package ai.coalora.trainer;

import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.service.EventService;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** The trainer: consumes retraining requests, answers each with a warm-started version. */
@ApplicationScoped
public class TrainerService extends EventService {
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

    @Override
    public String name() {
        return "trainer";
    }

    @Override
    protected ServiceRuntime open() {
        System.setProperty("ai.djl.offline", "true"); // the engine never downloads at run time
        RetrainingHandler handler = new RetrainingHandler(
                dataSource,
                registryClient(),
                Path.of(workDir),
                new RetrainingHandler.Schedule(trainExamples, epochs, initialGrid, segments, candidates, alias));
        return startEvents(handler);
    }
}
