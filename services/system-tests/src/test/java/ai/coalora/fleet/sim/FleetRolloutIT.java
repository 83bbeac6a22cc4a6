package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.security.PackageManifest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Staged rollouts end to end: 200 simulated devices running the real quantized model with their adapters
 * (with injected faults), the registry's rollout state machine, the planner and the generator, on real
 * Kafka and PostgreSQL.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetRolloutIT {
    static final int DEVICES = 200;
    static final Duration WAIT = Duration.ofMinutes(6);

    static Path work, bundle;
    static FleetStack stack;
    static FleetObserver observer;
    static RegistryClient registry;
    static DeviceAgents agents;
    static ModelPublisher.Published v1;
    static List<DeviceCapabilities> devices;

    @BeforeAll
    static void aFleetRunningVersionOne() throws Exception {
        bundle = FleetBundle.TEST.ensure(Progress.NONE);
        work = Files.createTempDirectory("coalora-rollout-");
        // 20-sentence shards are noisy: the retraining margin is wide enough that only the drift this test injects
        // triggers it
        stack = FleetStack.start(
                work, Map.of("COALORA_RETRAINING_MARGIN", "0.25"), m -> System.out.println("[rollout] " + m));
        observer = new FleetObserver(stack.kafkaAdmin());
        registry = stack.registry(FleetStack.ADMIN_USER);
        v1 = ModelPublisher.registerAndPromote(registry, bundle, "production", "rollout-test", "version one");
        devices = SimulatedFleet.devices(DEVICES, v1.front(), 11);
        Map<String, String> tokens =
                stack.enrol(devices.stream().map(DeviceCapabilities::deviceId).toList());
        agents = new DeviceAgents(
                stack.gateway(),
                stack.rootKey(),
                tokens,
                devices.stream().map(DeviceCapabilities::deviceId).toList(),
                Tasks.builtin("sentiment").test(),
                20,
                new DeviceAgents.Faults(0.02, 0.03, 0.03, 0.03),
                5);
        SimulatedFleet.announce(stack.gateway(), tokens, devices);
        List<String> feasible = devices.stream()
                .filter(d -> FleetEndToEndIT.bestFitting(d, v1.front()) != null)
                .map(DeviceCapabilities::deviceId)
                .toList();
        // offline devices never answer; the others run it, or rejected a corrupted download (failed until retried)
        long answering = feasible.stream()
                .filter(d -> !agents.offlineDevices().contains(d))
                .count();
        assertTrue(
                FleetObserver.await(() -> status("running") + status("failed") >= answering, WAIT),
                "devices running version one: " + summary() + " agents: " + agents.report());
    }

    @AfterAll
    static void stop() {
        if (agents != null) agents.close();
        if (observer != null) observer.close();
        if (stack != null) stack.close();
    }

    @Test
    @Order(1)
    void aThreeWaveRolloutCompletes() throws Exception {
        ModelPublisher.Published v2 = register(
                copy("v2", m -> ((ObjectNode) m.get("training")).put("createdAt", "2026-11-30T01:00:00Z"), false));
        JsonNode r = startRollout(v2.modelVersion(), "pause");
        String id = r.get("rolloutId").asText();
        assertEquals(3, r.get("waves").asInt());
        JsonNode done = awaitState(id, Set.of("succeeded", "paused", "aborted", "reverted"));
        assertEquals("succeeded", done.get("state").asText(), "rollout: " + done.toPrettyString());
        List<String> started = texts(done.get("transitions"), "reason").stream()
                .filter(t -> t.matches("wave \\d of 3 started"))
                .toList();
        assertEquals(List.of("wave 1 of 3 started", "wave 2 of 3 started", "wave 3 of 3 started"), started);
        for (JsonNode w : done.get("progress")) {
            assertTrue(w.get("finished").asInt() >= 0.8 * w.get("devices").asInt(), "wave " + w);
            assertTrue(
                    w.get("measuredQuality").asDouble()
                            >= w.get("predictedQuality").asDouble() - 0.15,
                    "wave measured vs predicted " + w);
        }
        assertTrue(
                texts(done.get("transitions"), "actor").contains("threshold:success"),
                "waves advanced by their thresholds");
    }

    @Test
    @Order(2)
    void aDegradedVersionTripsTheAccuracyGateAndIsRevertedEverywhere() throws Exception {
        // the same front (so the same predictions) with a sabotaged head: what a bad training run looks like to the
        // fleet
        ModelPublisher.Published bad = register(copy(
                "v3-degraded", m -> ((ObjectNode) m.get("training")).put("createdAt", "2026-11-30T02:00:00Z"), true));
        JsonNode r = startRollout(bad.modelVersion(), "abort-revert");
        String id = r.get("rolloutId").asText();
        JsonNode done = awaitState(id, Set.of("reverted", "succeeded", "paused", "aborted"));
        assertEquals("reverted", done.get("state").asText(), "rollout: " + done.toPrettyString());
        String gate = texts(done.get("transitions"), "reason").stream()
                .filter(t -> t.startsWith("accuracy gate"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no accuracy-gate transition: " + done.get("transitions")));
        assertTrue(gate.contains("aborting and reverting"), gate);
        assertTrue(texts(done.get("transitions"), "actor").contains("gate:accuracy"));
        assertEquals(
                0,
                done.get("progress").get(1).get("targeted").asInt()
                        + done.get("progress").get(1).get("finished").asInt(),
                "wave 2 never started");
        // no device is left on the degraded version
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                ResultSet rs = c.createStatement()
                        .executeQuery("select count(*) filter (where update_version = '" + bad.modelVersion()
                                + "' or model_version = '" + bad.modelVersion() + "') from registry.devices")) {
            rs.next();
            assertEquals(0, rs.getInt(1), "devices on the degraded version after abort-revert");
        }
    }

    @Test
    @Order(4)
    void aDropInFleetTelemetryTriggersRetrainingIntoANewCandidateVersion() throws Exception {
        // the largest group of answering devices running the same package
        Map<String, List<String>> byPackage = new HashMap<>();
        for (var e : observer.adapters().entrySet()) {
            if (agents.offlineDevices().contains(e.getKey())) continue;
            Payloads.AdapterReady last = e.getValue().get(e.getValue().size() - 1);
            byPackage
                    .computeIfAbsent(last.modelVersion() + "/" + last.configId(), k -> new ArrayList<>())
                    .add(e.getKey());
        }
        var group = byPackage.entrySet().stream()
                .max(Comparator.comparingInt(e -> e.getValue().size()))
                .orElseThrow();
        String version = group.getKey().split("/")[0], config = group.getKey().split("/")[1];
        assertTrue(group.getValue().size() >= 5, "a configuration with enough devices: " + group);
        assertTrue(agents.reevaluate(group.getValue(), true) >= 5, "drifted devices measured again");

        JsonNode[] request = new JsonNode[1];
        assertTrue(
                FleetObserver.await(
                        () -> {
                            for (JsonNode q : getJson("api/retraining")) {
                                if (q.get("modelVersion").asText().equals(version)
                                        && texts(q.get("configIds"), null).contains(config)) {
                                    request[0] = q;
                                    return true;
                                }
                            }
                            return false;
                        },
                        Duration.ofMinutes(1)),
                "a retraining request for the drifted configuration: " + getJson("api/retraining"));
        assertTrue(request[0].get("reason").asText().startsWith("fleet accuracy"), request[0].toString());
        String requestId = request[0].get("requestId").asText();

        assertTrue(
                FleetObserver.await(() -> findRequest(requestId).hasNonNull("resultVersion"), WAIT),
                "the trainer answered: " + findRequest(requestId) + "\ntrainer log:\n"
                        + stack.service("trainer").logTail(30));
        String child = findRequest(requestId).get("resultVersion").asText();
        JsonNode v = registry.getJson("api/versions/" + child);
        assertEquals(version, v.get("parentVersion").asText(), "lineage: the parent");
        JsonNode lineage = v.get("lineage");
        assertEquals(requestId, lineage.get("retrainingRequest").asText(), "lineage: the request");
        assertEquals(
                config,
                lineage.get("trigger").get("evidence").get("configId").asText(),
                "lineage: the telemetry that triggered it");
        JsonNode evidence = lineage.get("trigger").get("evidence");
        assertTrue(
                evidence.get("measured").asDouble() < evidence.get("predicted").asDouble() - 0.25, evidence.toString());
        assertTrue(Sha256.isValid(lineage.get("data").get("sha256").asText()), "lineage: the data");
        assertTrue(texts(lineage.get("addedConfigurations"), null).contains(config));
        // the trainer registers, then moves the alias: wait for the second step
        assertTrue(
                FleetObserver.await(
                        () -> {
                            JsonNode alias = null;
                            try {
                                alias = registry.getJsonOrNull("api/aliases/canary");
                            } catch (Exception e) {
                                return false;
                            }
                            return alias != null
                                    && child.equals(alias.get("modelVersion").asText());
                        },
                        Duration.ofMinutes(1)),
                "the new version is the canary candidate");
        assertNotEquals(version, child);
    }

    /**
     * Packages that carry the right files and hashes but no valid signature, and a genuine older manifest replayed:
     * every device refuses them (reporting why) and keeps running what it ran. Last, because the forged events reach
     * the registry too.
     */
    @Test
    @Order(6)
    void forgedAndReplayedPackagesAreRefusedByTheDevices() throws Exception {
        List<String> candidates = devices.stream()
                .map(DeviceCapabilities::deviceId)
                .filter(d -> !agents.offlineDevices().contains(d))
                .filter(d -> agents.appliedManifest(d) != null
                        && observer.adaptersOf(d).get(0).manifest().manifest().sequence()
                                < agents.appliedManifest(d).manifest().sequence())
                .limit(3)
                .toList();
        assertEquals(3, candidates.size(), "devices that applied a newer package than their first");
        int refusedBefore = agents.manifestsRefused();
        Map<String, PackageManifest.Signed> appliedBefore = new HashMap<>();
        for (String d : candidates) appliedBefore.put(d, agents.appliedManifest(d));
        List<ForgedPackages.Kind> kinds =
                List.of(ForgedPackages.Kind.UNSIGNED, ForgedPackages.Kind.SELF_SIGNED, ForgedPackages.Kind.REPLAYED);
        List<AdapterReady> forged = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++)
            forged.add(ForgedPackages.forge(kinds.get(i), observer.adaptersOf(candidates.get(i))));
        try (KafkaProducer<String, byte[]> p = SimulatedFleet.producer(stack.kafkaAdmin())) {
            ForgedPackages.send(p, forged);
        }
        assertTrue(
                FleetObserver.await(() -> agents.manifestsRefused() >= refusedBefore + 3, Duration.ofMinutes(2)),
                "refused: " + (agents.manifestsRefused() - refusedBefore) + " of 3");
        Thread.sleep(2000); // room for a wrongful apply to show
        assertEquals(refusedBefore + 3, agents.manifestsRefused());
        // each device still runs a genuine package at least as new as before; none of the forged ones
        for (int i = 0; i < candidates.size(); i++) {
            PackageManifest.Signed now = agents.appliedManifest(candidates.get(i));
            assertTrue(
                    now != null && !now.equals(forged.get(i).manifest()),
                    candidates.get(i) + " applied a forged package");
            assertTrue(
                    now.manifest().sequence()
                            >= appliedBefore.get(candidates.get(i)).manifest().sequence(),
                    candidates.get(i) + " went back to an older package");
        }
    }

    @Test
    @Order(5)
    void operatorsPauseResumeRetryAndAbortWithEveryActionRecorded() throws Exception {
        ModelPublisher.Published v5 = register(
                copy("v5", m -> ((ObjectNode) m.get("training")).put("createdAt", "2026-11-30T05:00:00Z"), false));
        // the actor of every action is the authenticated account, whatever the body claims
        RegistryClient operator = stack.registry(FleetStack.OPERATOR_USER),
                viewer = stack.registry(FleetStack.VIEWER_USER);
        JsonNode r = operator.sendJson(
                "POST",
                "api/rollouts",
                Map.of(
                        "modelVersion",
                        v5.modelVersion(),
                        "actor",
                        "mallory",
                        "waveFractions",
                        List.of(0.1, 0.3, 0.6),
                        "successThreshold",
                        0.8,
                        "errorThreshold",
                        0.25,
                        "errorMinExecuted",
                        4,
                        "qualityMargin",
                        0.25,
                        "onWaveSuccess",
                        "pause"));
        String id = r.get("rolloutId").asText();
        JsonNode paused = awaitState(id, Set.of("paused", "succeeded", "aborted", "reverted"));
        assertEquals("paused", paused.get("state").asText(), paused.toPrettyString());
        assertTrue(
                texts(paused.get("transitions"), "reason").stream().anyMatch(t -> t.contains("pausing before wave 2")));
        String base = stack.registryUrl() + "/api/rollouts/" + id;
        var admin = stack.credentials(FleetStack.ADMIN_USER);
        assertEquals(
                409,
                FleetEndToEndIT.http(admin, "POST", base + "/pause", "application/json", "{}")
                        .statusCode(),
                "pausing a paused rollout is a conflict");
        assertEquals(
                403,
                FleetEndToEndIT.http(
                                stack.credentials(FleetStack.VIEWER_USER),
                                "POST",
                                base + "/resume",
                                "application/json",
                                "{\"reason\":\"viewers only look\"}")
                        .statusCode(),
                "a viewer cannot resume");
        assertEquals(
                "paused",
                viewer.getJson("api/rollouts/" + id).get("state").asText(),
                "the viewer's attempt changed nothing");
        JsonNode resumed =
                operator.sendJson("POST", "api/rollouts/" + id + "/resume", Map.of("reason", "wave 1 looks good"));
        assertEquals("running", resumed.get("state").asText());
        assertEquals(2, resumed.get("currentWave").asInt(), "resuming after a successful wave starts the next");
        assertEquals(
                "paused",
                registry.sendJson("POST", "api/rollouts/" + id + "/pause", Map.of("reason", "hold on"))
                        .get("state")
                        .asText());
        assertEquals(
                "running",
                operator.sendJson("POST", "api/rollouts/" + id + "/retry-failed", Map.of())
                        .get("state")
                        .asText());
        JsonNode aborted =
                registry.sendJson("POST", "api/rollouts/" + id + "/abort", Map.of("reason", "enough", "mode", "keep"));
        assertEquals("aborted", aborted.get("state").asText());
        List<String> actors = texts(aborted.get("transitions"), "actor");
        for (String who : List.of("operator:operator", "operator:admin"))
            assertTrue(actors.contains(who), who + " in " + actors);
        assertFalse(actors.contains("operator:mallory"), "an actor named in the body is ignored: " + actors);
        assertEquals(
                409,
                FleetEndToEndIT.http(admin, "POST", base + "/resume", "application/json", "{}")
                        .statusCode(),
                "an aborted rollout cannot resume");
        assertEquals(
                404,
                FleetEndToEndIT.http(admin, "GET", stack.registryUrl() + "/api/rollouts/r-nothere", null, null)
                        .statusCode());
        // the audit log has every action, the viewer's denied one included
        List<String> audit = new ArrayList<>();
        for (JsonNode e : registry.getJson("api/audit?limit=500"))
            audit.add(e.get("actor").asText() + " " + e.get("method").asText() + " "
                    + e.get("path").asText() + " " + e.get("status").asInt());
        for (String line : List.of(
                "operator POST /api/rollouts 201",
                "viewer POST /api/rollouts/" + id + "/resume 403",
                "operator POST /api/rollouts/" + id + "/resume 200",
                "admin POST /api/rollouts/" + id + "/abort 200",
                "admin POST /api/rollouts/" + id + "/pause 409")) {
            assertTrue(
                    audit.contains(line), "audit has '" + line + "': " + audit.subList(0, Math.min(20, audit.size())));
        }
    }

    static JsonNode findRequest(String id) {
        for (JsonNode q : getJson("api/retraining"))
            if (q.get("requestId").asText().equals(id)) return q;
        throw new AssertionError("no request " + id);
    }

    static JsonNode getJson(String path) {
        try {
            return registry.getJson(path);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- helpers ----

    interface ManifestEdit {
        void apply(JsonNode manifest);
    }

    /** A copy of the test bundle as another version: an edited manifest, optionally a sabotaged (negated) head. */
    static Path copy(String name, ManifestEdit edit, boolean degradeHead) throws Exception {
        Path dir = Files.createDirectories(work.resolve(name));
        ModelBundle.Loaded loaded = ModelBundle.read(bundle);
        Map<String, Safetensors.Tensor> tensors = new HashMap<>(loaded.tensors());
        if (degradeHead) {
            for (String t : List.of("head.weight", "head.bias")) {
                float[] v = tensors.get(t).floats();
                for (int i = 0; i < v.length; i++) v[i] = -v[i];
                tensors.put(t, Safetensors.Tensor.ofFloats(v, tensors.get(t).shape()));
            }
        }
        ModelBundle.write(dir, loaded.manifest(), tensors);
        JsonNode manifest =
                Payloads.JSON.readTree(dir.resolve(ModelBundle.MANIFEST).toFile());
        edit.apply(manifest);
        Files.write(dir.resolve(ModelBundle.MANIFEST), Payloads.JSON.writeValueAsBytes(manifest));
        ModelBundle.read(dir); // still a valid bundle
        return dir;
    }

    /** Registers without promoting: a rollout, not the alias, ships it. */
    static ModelPublisher.Published register(Path dir) throws Exception {
        return ModelPublisher.register(registry, dir);
    }

    static JsonNode startRollout(String version, String onFailure) throws Exception {
        return registry.sendJson(
                "POST",
                "api/rollouts",
                Map.of(
                        "modelVersion",
                        version,
                        "waveFractions",
                        List.of(0.1, 0.3, 0.6),
                        "successThreshold",
                        0.8,
                        "errorThreshold",
                        0.25,
                        "errorMinExecuted",
                        4,
                        "qualityMargin",
                        0.1,
                        "onFailure",
                        onFailure));
    }

    static JsonNode awaitState(String id, Set<String> states) throws Exception {
        return awaitState(registry, id, states);
    }

    /** The rollout once it is in one of {@code states} (or as it is when {@link #WAIT} runs out). */
    static JsonNode awaitState(RegistryClient registry, String id, Set<String> states) throws Exception {
        JsonNode[] last = new JsonNode[1];
        FleetObserver.await(
                () -> {
                    try {
                        last[0] = registry.getJson("api/rollouts/" + id);
                        return states.contains(last[0].get("state").asText());
                    } catch (Exception e) {
                        return false; // the registry is restarting
                    }
                },
                WAIT);
        return last[0];
    }

    static List<String> texts(JsonNode array, String field) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : array)
            out.add(field == null ? n.asText() : n.get(field).asText());
        return out;
    }

    static long status(String s) {
        return summary().path("byStatus").path(s).asLong();
    }

    static JsonNode summary() {
        try {
            return registry.getJson("api/fleet/summary");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
