package ai.coalora.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.BundleTraining;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.device.DeviceModel;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.infra.TestDatabase;
import ai.coalora.fleet.infra.TestRegistry;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.planning.QualityMeasure;
import ai.coalora.fleet.security.FleetKeys;
import ai.coalora.fleet.security.ManifestRefused;
import ai.coalora.fleet.security.PackageManifest;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The adapter-generator's handler against a real PostgreSQL with its migrations (no broker) and a {@link TestRegistry}
 * over HTTP holding a real model version: an untrained CoA-LoRA bundle of the real MiniLM (made in seconds; the
 * generator packages a bundle without caring how well it classifies). Generation is real (fold, quantize, upload), and
 * what it uploads loads and runs as a device would run it.
 */
class GenerationHandlerIT {
    static final int MAX_LENGTH = 40;

    @TempDir
    static Path dir;

    static TestDatabase db;
    static TestRegistry registry;
    static PretrainedModel model;
    static Map<String, OnnxWeights.Tensor> baseWeights;
    static ModelQuantConfig threeBit, fourBit;
    static String version;
    static FleetKeys.Online signingKey;
    static PublicKey root;

    SimpleMeterRegistry meters;
    VersionCache versions;
    GenerationHandler handler;

    @BeforeAll
    static void start() throws Exception {
        db = TestDatabase.start("generator", "classpath:db/messaging", "classpath:db/adapter-generator");
        registry = TestRegistry.start();
        long t0 = System.nanoTime();
        model = PretrainedModel.miniLm(MAX_LENGTH);
        threeBit = uniform(3);
        fourBit = uniform(4);
        TaskData all = Tasks.builtin("sentiment");
        TaskData small = new TaskData(
                all.name(),
                all.labels(),
                all.train().subList(0, 16),
                all.validation().subList(0, 16),
                List.of(),
                all.sourceSha256());
        new BundleTraining(CoaSettings.defaults(), 2, 1, 1, 16)
                .untrained(model, small, MAX_LENGTH, List.of(threeBit, fourBit), dir.resolve("bundle"));
        version = registry.register(dir.resolve("bundle"), null);
        baseWeights = OnnxWeights.read(MiniLmArtifact.onnxFile());
        FleetKeys.init(dir.resolve("keys"), Duration.ofDays(90));
        signingKey = FleetKeys.readOnline(dir.resolve("keys").resolve(FleetKeys.SIGNING));
        root = FleetKeys.readRootPublic(dir.resolve("keys").resolve(FleetKeys.ROOT_PUBLIC));
        System.out.printf("model, untrained bundle and registration: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    @AfterAll
    static void stop() {
        if (model != null) model.close();
        if (registry != null) registry.close();
        if (db != null) db.close();
    }

    /** Each test starts from empty tables: what it generates is its own. */
    @BeforeEach
    void emptyTables() throws Exception {
        db.exec("truncate packages, outbox, inbox");
        startGenerator();
    }

    /** A generator as it starts: nothing cached in memory, whatever its tables hold. */
    void startGenerator() {
        meters = new SimpleMeterRegistry();
        String run = UUID.randomUUID().toString();
        versions = new VersionCache(registry.client(), dir.resolve(run).resolve("versions"), model.encoder());
        handler = new GenerationHandler(
                db.dataSource(),
                versions,
                new AdapterPackager(
                        registry.client(),
                        baseWeights,
                        BertConfig.MINILM_L6,
                        dir.resolve(run).resolve("scratch")),
                signingKey,
                meters);
    }

    @AfterEach
    void stopGenerator() {
        versions.close();
    }

    @Test
    void aConfigurationIsGeneratedOnceAndEveryDeviceGetsItsAdapterReady() throws Exception {
        String a = device(), b = device(), c = device();
        CloudEvent first = assignment(a, version, threeBit.configId(), true),
                second = assignment(b, version, threeBit.configId(), true);
        long t0 = System.nanoTime();
        deliver(first, second);
        System.out.printf("generation: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals(1, handler.generated(), "two devices, one configuration: one package");
        assertEquals(1.0, meters.counter("coalora.adapters.generated").count());
        assertEquals(
                1,
                db.count(
                        "select count(*) from packages where model_version = ? and config_id = ?",
                        version,
                        threeBit.configId()));
        String pkg = (String) db.value("select package_sha256 from packages where config_id = ?", threeBit.configId());

        JsonNode readyA = adapterReady(a), readyB = adapterReady(b);
        String eventId = (String) db.value("select headers->>'ce_id' from outbox where record_key = ?", a);
        assertFalse(
                eventId.contains(first.data().get("assignmentId").asText()),
                "the event id is random, not derived from what others know");
        assertEquals(36, eventId.length(), eventId);
        for (JsonNode ready : List.of(readyA, readyB)) {
            assertEquals(pkg, ready.get("packageSha256").asText());
            assertEquals(version, ready.get("modelVersion").asText());
            assertEquals(threeBit.configId(), ready.get("configId").asText());
            assertEquals(threeBit.averageBits(), ready.get("averageBits").asDouble(), 1e-12);
        }
        assertEquals(readyA.get("artifacts"), readyB.get("artifacts"));

        // each device's manifest: signed through the root's delegation, for that device alone, naming exactly the
        // package's files, numbered above every earlier one
        long lastSequence = 0;
        for (String d : List.of(a, b)) {
            AdapterReady ready = Payloads.read(adapterReady(d), AdapterReady.class);
            PackageManifest m = PackageManifest.verify(ready.manifest(), root, d, 0, Instant.now());
            assertEquals(List.of(d), m.devices());
            assertEquals(version, m.modelVersion());
            m.checkFiles(ready.artifacts().stream()
                    .map(f -> new PackageManifest.File(f.role(), f.name(), f.sha256(), f.bytes()))
                    .toList());
            assertTrue(m.sequence() > lastSequence, "sequence numbers grow");
            lastSequence = m.sequence();
            String other = d.equals(a) ? b : a;
            assertThrows(
                    ManifestRefused.class,
                    () -> PackageManifest.verify(ready.manifest(), root, other, 0, Instant.now()));
        }

        // every file is in the registry under its address, the package id is the hash of the file list, and a device
        // runs it
        List<Payloads.Artifact> artifacts = new ArrayList<>();
        for (JsonNode n : readyA.get("artifacts")) artifacts.add(Payloads.JSON.treeToValue(n, Payloads.Artifact.class));
        assertEquals(
                Set.of(
                        "adapter-config",
                        "adapter-weights",
                        "sidecar",
                        "head",
                        "quant-config",
                        "base-packed",
                        "base-dense"),
                artifacts.stream().map(Payloads.Artifact::role).collect(Collectors.toSet()));
        assertEquals(pkg, AdapterPackager.packageSha(artifacts));
        Map<String, byte[]> files = new HashMap<>();
        for (Payloads.Artifact f : artifacts) {
            byte[] bytes = registry.client().getBlob(f.sha256());
            assertEquals(f.bytes(), bytes.length, f.name());
            assertEquals(registry.client().blobUrl(f.sha256()), f.url());
            files.put(f.name(), bytes);
        }
        try (NDManager manager = NDManager.newBaseManager();
                DeviceModel device = DeviceModel.load(files, manager)) {
            assertEquals(version, device.modelVersion());
            assertEquals(threeBit.configId(), device.configId());
            float[][] logits = device.logits(
                    model.tokenizer(), List.of("great product, works well", "broke after a day"), MAX_LENGTH);
            assertEquals(2, logits.length);
            for (float[] row : logits) {
                assertEquals(2, row.length);
                for (float v : row) assertTrue(Float.isFinite(v));
            }
        }

        // a restarted generator (nothing in memory) serves a third device from the table: no download, no upload
        stopGenerator();
        startGenerator();
        long before = registry.requests(null, "/api/");
        deliver(assignment(c, version, threeBit.configId(), true));
        assertEquals(0, handler.generated());
        assertEquals(before, registry.requests(null, "/api/"), "the package was found in the packages table");
        assertEquals(pkg, adapterReady(c).get("packageSha256").asText());
        assertEquals(1, db.count("select count(*) from packages"));
    }

    @Test
    void eachConfigurationIsItsOwnPackageAndTheDenseBaseIsShared() throws Exception {
        String d3 = device(), d4 = device();
        deliver(assignment(d3, version, threeBit.configId(), true), assignment(d4, version, fourBit.configId(), true));
        assertEquals(2, handler.generated());
        assertEquals(2, db.count("select count(*) from packages"));
        JsonNode three = adapterReady(d3), four = adapterReady(d4);
        assertNotEquals(three.get("packageSha256"), four.get("packageSha256"));
        assertNotEquals(
                artifact(three, "base-packed"), artifact(four, "base-packed"), "bit-packed for each configuration");
        assertEquals(
                artifact(three, "base-dense"),
                artifact(four, "base-dense"),
                "the dense tensors do not depend on the configuration");
        assertEquals(fourBit.averageBits(), four.get("averageBits").asDouble(), 1e-12);
        assertTrue(
                registry.hasBlob(artifact(four, "base-packed")) && registry.hasBlob(artifact(four, "adapter-weights")));
    }

    @Test
    void assignmentsThatCannotBeServedAreRejectedAndLeaveNothing() throws Exception {
        String unknown = Sha256.of("no such version".getBytes()), hostile = "../../../etc";

        // an infeasible assignment: nothing to generate, nothing to announce
        deliver(assignment(device(), version, null, false));

        RejectedEvent e = assertThrows(
                RejectedEvent.class, () -> deliver(assignment(device(), unknown, threeBit.configId(), true)));
        assertTrue(e.getMessage().contains("not registered"), e.getMessage());
        assertEquals(1, registry.requests("GET", "/api/versions/" + unknown), "asked the registry once");

        long asked = registry.requests("GET", "/api/versions");
        e = assertThrows(RejectedEvent.class, () -> deliver(assignment(device(), hostile, threeBit.configId(), true)));
        assertTrue(e.getMessage().contains("not a sha256"), e.getMessage());
        assertEquals(
                asked,
                registry.requests("GET", "/api/versions"),
                "a version that is not an address is never asked for");

        String notOnFront = Sha256.of("a configuration the front does not have".getBytes());
        e = assertThrows(RejectedEvent.class, () -> deliver(assignment(device(), version, notOnFront, true)));
        assertTrue(e.getMessage().contains("not on the front"), e.getMessage());

        // beyond a long: the schema's bound refuses it; should it reach the handler anyway, it is rejected, and the
        // batch's other events are still prepared
        ObjectNode huge = (ObjectNode)
                assignment(device(), version, threeBit.configId(), true).data();
        ((ObjectNode) huge.get("footprint")).put("weightBytes", new BigInteger("100000000000000000000000"));
        assertEquals(
                List.of("footprint.weightBytes: must have a maximum value of 1125899906842624"),
                ServiceRuntime.schemas().validate(EventTypes.ASSIGNMENT, huge));
        CloudEvent unreadable = CloudEvent.create(
                "/test", EventTypes.ASSIGNMENT, huge.get("deviceId").asText(), null, huge);
        handler.prepare(List.of(unreadable));
        assertThrows(RejectedEvent.class, () -> db.inTransaction(tx -> handler.apply(unreadable, tx)));

        assertEquals(0, handler.generated());
        assertEquals(0, db.count("select count(*) from packages"));
        assertEquals(0, db.count("select count(*) from outbox"));
    }

    // ---- helpers ----

    static ModelQuantConfig uniform(int bits) {
        return ModelQuantConfig.uniform(
                QuantizedWeights.matrixSpecs(model.encoder()), QuantConfig.integerOnly(bits), QuantizerKind.NF);
    }

    static String device() {
        return "dev-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** An assignment as the planner publishes it (schema-valid). */
    static CloudEvent assignment(String device, String modelVersion, String configId, boolean feasible) {
        Assignment a = feasible
                ? new Assignment(
                        device,
                        UUID.randomUUID().toString(),
                        "caps-" + device,
                        true,
                        "test",
                        modelVersion,
                        "production",
                        configId,
                        3.0,
                        QualityMeasure.ACCURACY,
                        0.9,
                        "coalora-packed",
                        new Payloads.Footprint(1, 1, 0, 2),
                        null,
                        null)
                : new Assignment(
                        device,
                        UUID.randomUUID().toString(),
                        "caps-" + device,
                        false,
                        "nothing fits",
                        modelVersion,
                        "production",
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null);
        JsonNode data = Payloads.toJson(a);
        assertEquals(List.of(), ServiceRuntime.schemas().validate(EventTypes.ASSIGNMENT, data));
        return CloudEvent.create("/coalora/planner", EventTypes.ASSIGNMENT, device, null, data);
    }

    /** One batch as the event processor runs it: prepared before the transaction, then applied event by event. */
    void deliver(CloudEvent... events) throws Exception {
        handler.prepare(List.of(events));
        db.inTransaction(tx -> {
            for (CloudEvent e : events) handler.apply(e, tx);
        });
    }

    static JsonNode adapterReady(String device) throws Exception {
        List<Object> values = db.column(
                "select convert_from(value, 'UTF8') from outbox where topic = 'coalora.adapters.ready' and record_key = ?",
                device);
        assertEquals(1, values.size(), "adapter-ready events for " + device);
        return Payloads.JSON.readTree((String) values.get(0));
    }

    static String artifact(JsonNode ready, String role) {
        for (JsonNode a : ready.get("artifacts"))
            if (a.get("role").asText().equals(role)) return a.get("sha256").asText();
        return null;
    }
}
