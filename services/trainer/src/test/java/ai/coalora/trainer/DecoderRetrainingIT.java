package ai.coalora.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.bundle.DecoderBundleTraining;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.RetrainingRequested;
import ai.coalora.fleet.infra.TestDatabase;
import ai.coalora.fleet.infra.TestRegistry;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer answering a retraining request for a decoder version (no broker; PostgreSQL and a {@link TestRegistry}):
 * a tiny decoder pretrained here and a decoder bundle trained on it are the parent, with the base model's files in the
 * version as the registry keeps them; the child is warm-started from it on the same base model, registered with the
 * same base files, its lineage naming the request, and made the candidate.
 */
class DecoderRetrainingIT {
    private static final int SEQ = 32;
    /** 32 review texts, one epoch, two grid budgets, one bit segment, one searched candidate. */
    static final RetrainingHandler.Schedule TINY = new RetrainingHandler.Schedule(32, 1, 2, 1, 1, "canary");

    @TempDir
    static Path dir;

    static TestDatabase db;
    static TestRegistry registry;
    static DecoderBundleManifest parentManifest;
    static String parent;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh");
        db = TestDatabase.start("trainer", "classpath:db/messaging", "classpath:db/trainer");
        registry = TestRegistry.start();
        Path model = dir.resolve("tiny-lm"), version = dir.resolve("parent");
        try (NDManager manager = NDManager.newBaseManager()) {
            Pretraining.run(
                    LmCorpus.load(),
                    new Pretraining.Settings(
                            384, 32, 2, 4, 2, 96, SEQ, 8, 20, 0, 1e-2f, 2, 0.0f, 1.0f, 11, 4, 20, 60_000),
                    model,
                    manager,
                    line -> {});
        }
        FineTuneSettings t = new FineTuneSettings(1, 8, 5e-3f, 0.0f, 1.0f, 3, new LoraSpec(4, 8));
        parentManifest = new DecoderBundleTraining(new CoaSettings(t, 2, true, 8), SEQ, 16, 4, 8, 3, 2, 2)
                .run(model, Tasks.builtin("sentiment"), version, Progress.NONE);
        for (String f : List.of(HfCheckpoint.CONFIG, HfCheckpoint.SINGLE_FILE, Pretraining.TOKENIZER_FILE))
            Files.copy(model.resolve(f), version.resolve(f));
        parent = registry.register(version, null);
    }

    @AfterAll
    static void stop() {
        if (registry != null) registry.close();
        if (db != null) db.close();
    }

    @Test
    void aDecoderVersionIsRetrainedFromItselfOnTheSameBaseModel() throws Exception {
        String requestId = "retrain-" + UUID.randomUUID();
        String config = parentManifest.front().get(0).quantConfig().configId();
        ObjectNode evidence = Payloads.JSON
                .createObjectNode()
                .put("measure", "perplexity")
                .put("measured", 140.0)
                .put("predicted", 110.0);
        long t0 = System.nanoTime();
        RetrainingHandler handler =
                new RetrainingHandler(db.dataSource(), registry.client(), dir.resolve("work"), TINY);
        RetrainingRequested r = new RetrainingRequested(
                requestId, parent, List.of(config), "fleet perplexity above prediction", evidence);
        JsonNode data = Payloads.toJson(r);
        assertEquals(List.of(), ServiceRuntime.schemas().validate(EventTypes.RETRAINING_REQUESTED, data));
        CloudEvent event =
                CloudEvent.create("/coalora/registry", EventTypes.RETRAINING_REQUESTED, requestId, null, data);
        handler.prepare(List.of(event)); // as the event processor runs a batch: prepared, then applied
        db.inTransaction(tx -> handler.apply(event, tx));
        System.out.printf("decoder retraining: %.1f s%n", (System.nanoTime() - t0) / 1e9);

        String result = (String) db.value("select result_version from trainings where request_id = ?", requestId);
        assertNotEquals(parent, result);
        JsonNode v = registry.version(result);
        assertEquals(parent, v.get("parentVersion").asText());
        assertEquals(requestId, v.get("lineage").get("retrainingRequest").asText());
        assertEquals(evidence, v.get("lineage").get("trigger").get("evidence"));
        assertEquals(result, registry.alias("canary"));

        // the same base model's files, byte for byte; a new bundle warm-started from the parent's
        Map<String, String> parentFiles = files(registry.version(parent)), childFiles = files(v);
        for (String f : List.of(HfCheckpoint.CONFIG, HfCheckpoint.SINGLE_FILE, Pretraining.TOKENIZER_FILE))
            assertEquals(parentFiles.get(f), childFiles.get(f), f);
        assertEquals(5, childFiles.size(), childFiles.toString());
        Path child = dir.resolve("child");
        registry.client().downloadVersion(result, child);
        DecoderBundleManifest m = DecoderBundle.read(child).manifest();
        assertTrue(m.baseModel().sameModelAs(parentManifest.baseModel()));
        assertEquals(parentManifest.tensorsSha256(), m.training().warmStartFrom());
        assertNotEquals(parentManifest.tensorsSha256(), m.tensorsSha256(), "training moved the parent's tensors");
        assertTrue(
                m.front().stream().anyMatch(p -> p.quantConfig().configId().equals(config)),
                "the requested configuration is on the child's front");
        assertEquals(parentManifest.seqLen(), m.seqLen());
        assertEquals(parentManifest.rank(), m.rank());
    }

    static Map<String, String> files(JsonNode version) {
        Map<String, String> out = new HashMap<>();
        for (JsonNode f : version.get("files"))
            out.put(f.get("name").asText(), f.get("sha256").asText());
        return out;
    }
}
