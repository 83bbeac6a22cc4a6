package ai.coalora.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.BundleTraining;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.bundle.PhaseTimer;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.CoverageBudget;
import ai.coalora.fleet.events.Payloads.RetrainingRequested;
import ai.coalora.fleet.infra.TestDatabase;
import ai.coalora.fleet.infra.TestRegistry;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.ServiceRuntime;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's handler against a real PostgreSQL with its migrations (no broker) and a {@link TestRegistry} over HTTP:
 * one real retraining end to end (download the parent, CoA-LoRA warm-started from it with tiny settings on the real
 * sentiment data, upload, register with lineage, point the candidate alias at it), and the requests it must not train:
 * one already answered, one naming an unknown version or configuration, data that does not map.
 */
class RetrainingHandlerIT {
    static final int MAX_LENGTH = 40;
    /** One step of 32 examples, two grid budgets, one bit segment, one searched candidate. */
    static final RetrainingHandler.Schedule TINY = new RetrainingHandler.Schedule(32, 1, 2, 1, 1, "canary");

    @TempDir
    static Path dir;

    static TestDatabase db;
    static TestRegistry registry;
    static ModelQuantConfig threeBit;
    static BundleManifest parentManifest;
    static String parent;

    @BeforeAll
    static void start() throws Exception {
        db = TestDatabase.start("trainer", "classpath:db/messaging", "classpath:db/trainer");
        registry = TestRegistry.start();
        // the parent: an untrained bundle of the real MiniLM (what matters here is the warm start, not its accuracy)
        TaskData all = Tasks.builtin("sentiment");
        TaskData small = new TaskData(
                all.name(),
                all.labels(),
                all.train().subList(0, 16),
                all.validation().subList(0, 16),
                List.of(),
                all.sourceSha256());
        try (PretrainedModel model = PretrainedModel.miniLm(MAX_LENGTH)) {
            threeBit = uniform(model, 3);
            parentManifest = new BundleTraining(CoaSettings.defaults(), 2, 1, 1, 16)
                    .untrained(model, small, MAX_LENGTH, List.of(threeBit, uniform(model, 4)), dir.resolve("parent"));
        }
        parent = registry.register(dir.resolve("parent"), null);
    }

    @AfterAll
    static void stop() {
        if (registry != null) registry.close();
        if (db != null) db.close();
    }

    @Test
    void aRequestIsAnsweredOnceWithAWarmStartedVersionOnTheCandidateAlias() throws Exception {
        String requestId = "retrain-" + UUID.randomUUID();
        ObjectNode evidence = Payloads.JSON
                .createObjectNode()
                .put("measure", "accuracy")
                .put("measured", 0.61)
                .put("predicted", 0.8);
        CloudEvent request = request(new RetrainingRequested(
                requestId, parent, List.of(threeBit.configId()), "accuracy below prediction", evidence));
        long t0 = System.nanoTime();
        deliver(handler(), request);
        System.out.printf("retraining: %.1f s%n", (System.nanoTime() - t0) / 1e9);

        String result = (String) db.value("select result_version from trainings where request_id = ?", requestId);
        assertEquals(parent, db.value("select parent_version from trainings where request_id = ?", requestId));
        assertTrue(
                ((Number) db.value("select seconds from trainings where request_id = ?", requestId)).doubleValue() > 0);
        assertNotEquals(parent, result);

        // registered with its lineage, and the candidate
        JsonNode v = registry.version(result);
        assertEquals(parent, v.get("parentVersion").asText());
        JsonNode lineage = v.get("lineage");
        assertEquals(requestId, lineage.get("retrainingRequest").asText());
        assertEquals(parent, lineage.get("warmStartFrom").asText());
        assertEquals(
                threeBit.configId(), lineage.get("addedConfigurations").get(0).asText());
        assertEquals(
                "accuracy below prediction",
                lineage.get("trigger").get("reason").asText());
        assertEquals(evidence, lineage.get("trigger").get("evidence"));
        assertEquals("sentiment", lineage.get("data").get("task").asText());
        assertEquals(32, lineage.get("data").get("trainExamples").asInt());
        assertEquals(result, registry.alias("canary"));

        // the new version is a bundle trained on from the parent, with the requested configuration on its front
        Path child = dir.resolve("child");
        registry.client().downloadVersion(result, child);
        BundleManifest m = ModelBundle.read(child).manifest();
        System.out.println(
                "retraining phases: " + PhaseTimer.format(m.training().phaseSeconds()));
        assertEquals(parentManifest.tensorsSha256(), m.training().warmStartFrom());
        assertNotEquals(parentManifest.tensorsSha256(), m.tensorsSha256(), "training moved the parent's tensors");
        assertEquals(1, m.training().epochs());
        assertTrue(
                m.front().stream().anyMatch(p -> p.quantConfig().configId().equals(threeBit.configId())),
                "the requested configuration");
        assertEquals(32, m.task().trainExamples());

        // redelivered (a replay after a crash), to this trainer and to a restarted one: answered, never trained again
        long registrations = registry.requests("POST", "/api/versions"),
                downloads = registry.requests("GET", "/api/versions/");
        deliver(handler(), request);
        RetrainingHandler restarted = handler();
        deliver(
                restarted,
                request(new RetrainingRequested(
                        requestId, parent, List.of(threeBit.configId()), "accuracy below prediction", evidence)));
        assertEquals(registrations, registry.requests("POST", "/api/versions"));
        assertEquals(downloads, registry.requests("GET", "/api/versions/"));
        assertEquals(1, db.count("select count(*) from trainings where request_id = ?", requestId));
    }

    @Test
    void aRequestTheTableAnsweredBeforeIsNotTrainedAgain() throws Exception {
        String requestId = "answered-" + UUID.randomUUID(), earlier = Sha256.of(requestId.getBytes());
        db.exec(
                "insert into trainings (request_id, parent_version, result_version, seconds) values (?, ?, ?, 12.5)",
                requestId,
                parent,
                earlier);
        long before = registry.requests(null, "/api/");
        deliver(handler(), request(new RetrainingRequested(requestId, parent, List.of(), "drift", null)));
        assertEquals(before, registry.requests(null, "/api/"), "no download, no registration");
        assertEquals(earlier, db.value("select result_version from trainings where request_id = ?", requestId));
    }

    @Test
    void requestsThatCannotBeAnsweredAreRejectedAndTrainNothing() throws Exception {
        long registrations = registry.requests("POST", "/api/versions"),
                aliasMoves = registry.requests("PUT", "/api/aliases/");
        String unknown = Sha256.of("no such version".getBytes());

        String r1 = "unknown-" + UUID.randomUUID();
        RejectedEvent e = assertThrows(
                RejectedEvent.class,
                () -> deliver(handler(), request(new RetrainingRequested(r1, unknown, List.of(), "drift", null))));
        assertTrue(e.getMessage().contains("not registered"), e.getMessage());

        String r2 = "off-front-" + UUID.randomUUID();
        e = assertThrows(
                RejectedEvent.class,
                () -> deliver(
                        handler(),
                        request(new RetrainingRequested(
                                r2,
                                parent,
                                List.of(Sha256.of("a configuration the front does not have".getBytes())),
                                "accuracy",
                                null))));
        assertTrue(e.getMessage().contains("not on the front"), e.getMessage());

        // beyond an int: the schema's bound refuses it; should it reach the handler anyway, it is rejected, and prepare
        // does not stop on it
        String r3 = "huge-" + UUID.randomUUID();
        ObjectNode data = (ObjectNode) Payloads.toJson(new RetrainingRequested(
                r3, parent, List.of(), "coverage", null, List.of(new CoverageBudget(3.0, List.of(3, 4), 5))));
        ((ObjectNode) data.get("budgets").get(0)).put("devices", new BigInteger("100000000000000000000"));
        String problems = String.join("; ", ServiceRuntime.schemas().validate(EventTypes.RETRAINING_REQUESTED, data));
        assertTrue(problems.contains("devices: must have a maximum value of 100000000"), problems);
        e = assertThrows(
                RejectedEvent.class,
                () -> deliver(handler(), CloudEvent.create("/test", EventTypes.RETRAINING_REQUESTED, r3, null, data)));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());

        for (String r : List.of(r1, r2, r3))
            assertNull(db.value("select result_version from trainings where request_id = ?", r), r);
        assertEquals(registrations, registry.requests("POST", "/api/versions"), "nothing registered");
        assertEquals(0, registry.requests("PUT", "/api/aliases/" + TINY.alias()) - aliasMoves, "no candidate");
    }

    // ---- helpers ----

    static ModelQuantConfig uniform(PretrainedModel model, int bits) {
        return ModelQuantConfig.uniform(
                QuantizedWeights.matrixSpecs(model.encoder()), QuantConfig.integerOnly(bits), QuantizerKind.NF);
    }

    /** A trainer as it starts, with its own work directory. */
    static RetrainingHandler handler() {
        return new RetrainingHandler(
                db.dataSource(), registry.client(), dir.resolve("work-" + UUID.randomUUID()), TINY);
    }

    /** A request as the registry publishes it (schema-valid). */
    static CloudEvent request(RetrainingRequested r) {
        JsonNode data = Payloads.toJson(r);
        assertEquals(List.of(), ServiceRuntime.schemas().validate(EventTypes.RETRAINING_REQUESTED, data));
        return CloudEvent.create("/coalora/registry", EventTypes.RETRAINING_REQUESTED, r.requestId(), null, data);
    }

    /** One batch as the event processor runs it: prepared before the transaction, then applied. */
    static void deliver(RetrainingHandler handler, CloudEvent event) throws Exception {
        handler.prepare(List.of(event));
        db.inTransaction(tx -> handler.apply(event, tx));
    }
}
