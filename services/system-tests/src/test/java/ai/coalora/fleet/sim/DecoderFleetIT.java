package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.registry.RegistryClient;
import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The fleet serving a language model: a decoder version (a small decoder pretrained here, CoA-LoRA trained on it)
 * rolled out to simulated devices that run real llama.cpp, on real Kafka and PostgreSQL with the four services. Each
 * device gets a configuration planned by predicted perplexity for its memory and the GGUF types it declares, downloads
 * and verifies its signed GGUF package (model.gguf + adapter.gguf), runs it in llama.cpp on its own held-out text and
 * reports perplexity, tokens/s and memory; a device whose download was corrupted refuses the package and runs nothing. A degraded version trips the perplexity gate and is reverted; drifted text
 * raises a retraining request that the trainer answers with a child decoder version.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DecoderFleetIT {
    static final int DEVICES = 32, MIN_RUNNING = 20;
    static final Duration WAIT = Duration.ofMinutes(5);

    static Path work, bundle;
    static FleetStack stack;
    static FleetObserver observer;
    static RegistryClient registry;
    static DeviceAgents agents;
    static ModelPublisher.Published v1;
    static List<DeviceCapabilities> devices;

    @BeforeAll
    static void llamaCppDevicesRunVersionOne() throws Exception {
        String missing = LlamaCpp.unavailable();
        if (missing != null) System.out.println("[decoder-fleet] skipped: " + missing);
        assumeTrue(missing == null, missing);
        assumeTrue(LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh");
        long t0 = System.nanoTime();
        bundle = FleetDecoderBundle.TEST.ensure(Progress.NONE);
        System.out.printf("[decoder-fleet] decoder version ready in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        work = Files.createTempDirectory("coalora-decoder-fleet-");
        // drifted text is far off; ordinary noise on 20-sentence shards stays inside 25%
        stack = FleetStack.start(
                work, Map.of("COALORA_RETRAINING_MARGIN", "0.25"), m -> System.out.println("[decoder-fleet] " + m));
        observer = new FleetObserver(stack.kafkaAdmin());
        registry = stack.registry(FleetStack.ADMIN_USER);
        v1 = ModelPublisher.registerAndPromote(registry, bundle, "production", "decoder-test", "decoder version one");
        devices = SimulatedFleet.llamaCppDevices(DEVICES, v1.front(), 3);
        List<String> ids = devices.stream().map(DeviceCapabilities::deviceId).toList();
        Map<String, String> tokens = stack.enrol(ids);
        agents = new DeviceAgents(
                stack.gateway(),
                stack.rootKey(),
                tokens,
                ids,
                Tasks.builtin("sentiment").test(),
                20,
                new DeviceAgents.Faults(0, 0, 0, 0.1), // one in ten gets a corrupted download
                5);
        SimulatedFleet.announce(stack.gateway(), tokens, devices);
        assertTrue(
                FleetObserver.await(retrying(() -> settled(v1.modelVersion())), WAIT),
                "every device runs version one, refused a corrupted download or has no feasible configuration: "
                        + statuses() + " agents: " + agents.report());
    }

    @AfterAll
    static void stop() {
        if (agents != null) agents.close();
        if (observer != null) observer.close();
        if (stack != null) stack.close();
    }

    @Test
    @Order(1)
    void devicesRunTheirPlannedGgufPackagesInLlamaCppAndReportPerplexity() throws Exception {
        JsonNode version = registry.getJson("api/versions/" + v1.modelVersion());
        assertEquals("decoder", version.get("kind").asText());
        assertEquals("perplexity", version.get("measure").asText());
        Map<String, FrontEntry> front =
                v1.front().stream().collect(Collectors.toMap(FrontEntry::configId, Function.identity()));
        List<String> running = new ArrayList<>(), refused = new ArrayList<>();
        Map<String, String> packageOf = new HashMap<>(), mappingOf = new HashMap<>();
        for (DeviceCapabilities d : devices) {
            JsonNode dev = registry.getJson("api/devices/" + d.deviceId());
            String status = dev.get("status").asText();
            if (status.equals("unassignable")) {
                assertTrue(
                        dev.toString().contains("no feasible configuration"),
                        "an unassignable device says why: " + dev);
                continue;
            }
            if (status.equals("failed")) {
                refused.add(d.deviceId());
                continue;
            }
            assertEquals("running", status, d.deviceId() + ": " + dev);
            running.add(d.deviceId());
            List<AdapterReady> packages = observer.adaptersOf(d.deviceId());
            AdapterReady ready = packages.get(packages.size() - 1);
            assertEquals(v1.modelVersion(), ready.modelVersion());
            assertTrue(front.containsKey(ready.configId()), "a configuration of the front: " + ready.configId());
            assertEquals(
                    Set.of("gguf-model", "gguf-adapter"),
                    ready.artifacts().stream().map(Artifact::role).collect(Collectors.toSet()),
                    d.deviceId() + " got a llama.cpp package");
            packageOf.put(d.deviceId(), ready.configId() + " " + ready.packageSha256());
            var as = observer.assignmentsOf(d.deviceId());
            var plan = as.get(as.size() - 1).gguf(); // the GGUF types the planner chose for this device
            mappingOf.put(d.deviceId(), plan.mapping() + plan.types());
            assertTrue(agents.sample(d.deviceId()) != null, d.deviceId() + " generated a sample");
        }
        assertTrue(running.size() >= MIN_RUNNING, running.size() + " llama.cpp devices running: " + statuses());
        assertTrue(
                running.stream().anyMatch(d -> mappingOf.get(d).startsWith("MIXED")),
                "a device runs a mixed plan (Q4_0 for its 3-bit matrices): " + mappingOf);
        assertEquals(
                agents.report().corrupted(),
                refused.size(),
                "exactly the devices whose download was corrupted refused their package: " + refused);
        assertEquals(agents.report().corrupted(), agents.report().rejected());
        assertEquals(0, agents.manifestsRefused(), "genuine packages: every manifest verified");
        assertEquals(0, agents.artifactsRejected(), "genuine packages: every file's size and sha256 matched");
        // devices on one configuration share a package exactly when the planner chose them the same types
        for (String a : running)
            for (String b : running) {
                String[] pa = packageOf.get(a).split(" "), pb = packageOf.get(b).split(" ");
                if (!pa[0].equals(pb[0])) continue;
                assertEquals(
                        mappingOf.get(a).equals(mappingOf.get(b)),
                        pa[1].equals(pb[1]),
                        a + " and " + b + " on " + pa[0] + ": " + mappingOf.get(a) + " vs " + mappingOf.get(b));
            }

        // telemetry: llama.cpp's perplexity on each device's own text, next to what the front predicted
        double logRatios = 0;
        int reports = 0;
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                ResultSet rs = c.createStatement()
                        .executeQuery("select device_id, config_id, quality, examples, tokens_per_second, memory_bytes"
                                + " from registry.telemetry where model_version = '" + v1.modelVersion() + "'")) {
            while (rs.next()) {
                String device = rs.getString(1);
                double perplexity = rs.getDouble(3),
                        predicted = front.get(rs.getString(2)).predicted();
                assertTrue(running.contains(device), device);
                assertTrue(perplexity > 1 && Double.isFinite(perplexity), device + " perplexity " + perplexity);
                assertTrue(rs.getInt(4) >= 1, "windows scored");
                assertTrue(rs.getDouble(5) > 0, device + " tokens/s");
                assertTrue(rs.getLong(6) > 0, device + " memory");
                logRatios += Math.log(perplexity / predicted);
                reports++;
            }
        }
        assertTrue(reports >= running.size(), reports + " reports from " + running.size() + " running devices");
        double ratio = Math.exp(logRatios / reports);
        System.out.printf(
                "[decoder-fleet] %d llama.cpp devices running, %d reports; measured / predicted perplexity %.3f "
                        + "(geometric mean); sample from %s: %s%n",
                running.size(), reports, ratio, running.get(0), agents.sample(running.get(0)));
        // the devices run the configurations' GGUF types, not the NF the front was scored with: close, not equal
        assertTrue(ratio > 0.8 && ratio < 1.25, "measured / predicted perplexity " + ratio);
    }

    @Test
    @Order(2)
    void aDegradedDecoderTripsThePerplexityGateAndIsRevertedEverywhere() throws Exception {
        // the same front (so the same predictions) with a sabotaged adapter: what a bad training run looks like
        ModelPublisher.Published bad = ModelPublisher.register(registry, degraded(work.resolve("v2-degraded")));
        JsonNode r = registry.sendJson(
                "POST",
                "api/rollouts",
                Map.of(
                        "modelVersion",
                        bad.modelVersion(),
                        "waveFractions",
                        List.of(0.25, 0.75),
                        "successThreshold",
                        0.8,
                        "errorThreshold",
                        0.25,
                        "errorMinExecuted",
                        3,
                        "qualityMargin",
                        0.25,
                        "onFailure",
                        "abort-revert"));
        String id = r.get("rolloutId").asText();
        JsonNode done = FleetRolloutIT.awaitState(registry, id, Set.of("reverted", "succeeded", "paused", "aborted"));
        assertEquals("reverted", done.get("state").asText(), "rollout: " + done.toPrettyString());
        List<String> reasons = FleetRolloutIT.texts(done.get("transitions"), "reason");
        String gate = reasons.stream()
                .filter(t -> t.startsWith("perplexity gate"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no perplexity-gate transition: " + reasons));
        assertTrue(gate.contains("above the predicted") && gate.contains("aborting and reverting"), gate);
        assertTrue(FleetRolloutIT.texts(done.get("transitions"), "actor").contains("gate:perplexity"));
        assertTrue(
                FleetObserver.await(retrying(() -> onVersion(bad.modelVersion()) == 0), WAIT),
                "devices still on the degraded version: " + onVersion(bad.modelVersion()));
    }

    @Test
    @Order(3)
    void driftedTextTriggersADecoderRetrainingIntoVersionTwo() throws Exception {
        // the largest group of devices on one configuration of version one
        Map<String, List<String>> byConfig = new HashMap<>();
        for (DeviceCapabilities d : devices) {
            List<AdapterReady> p = observer.adaptersOf(d.deviceId());
            if (p.isEmpty()) continue;
            AdapterReady last = p.get(p.size() - 1);
            if (last.modelVersion().equals(v1.modelVersion()))
                byConfig.computeIfAbsent(last.configId(), k -> new ArrayList<>())
                        .add(d.deviceId());
        }
        var group = byConfig.entrySet().stream()
                .max(Comparator.comparingInt(e -> e.getValue().size()))
                .orElseThrow();
        String config = group.getKey();
        assertTrue(group.getValue().size() >= 3, "a configuration with devices: " + byConfig);
        assertTrue(agents.reevaluate(group.getValue(), true) >= 3, "drifted devices measured again");
        JsonNode[] request = new JsonNode[1];
        assertTrue(
                FleetObserver.await(
                        retrying(() -> {
                            for (JsonNode q : registry.getJson("api/retraining")) {
                                if (q.get("modelVersion").asText().equals(v1.modelVersion())
                                        && FleetRolloutIT.texts(q.get("configIds"), null)
                                                .contains(config)) {
                                    request[0] = q;
                                    return true;
                                }
                            }
                            return false;
                        }),
                        Duration.ofMinutes(1)),
                "a retraining request for the drifted configuration");
        assertTrue(request[0].get("reason").asText().startsWith("fleet perplexity"), request[0].toString());
        String requestId = request[0].get("requestId").asText();
        JsonNode[] answered = new JsonNode[1];
        assertTrue(
                FleetObserver.await(
                        retrying(() -> {
                            for (JsonNode q : registry.getJson("api/retraining"))
                                if (q.get("requestId").asText().equals(requestId) && q.hasNonNull("resultVersion")) {
                                    answered[0] = q;
                                    return true;
                                }
                            return false;
                        }),
                        WAIT),
                "the trainer answered; trainer log:\n"
                        + stack.service("trainer").logTail(30));
        String child = answered[0].get("resultVersion").asText();
        assertNotEquals(v1.modelVersion(), child);
        JsonNode v = registry.getJson("api/versions/" + child);
        assertEquals("decoder", v.get("kind").asText());
        assertEquals(v1.modelVersion(), v.get("parentVersion").asText(), "lineage: the parent");
        assertEquals(requestId, v.get("lineage").get("retrainingRequest").asText(), "lineage: the request");
        JsonNode evidence = v.get("lineage").get("trigger").get("evidence");
        assertEquals("perplexity", evidence.get("measure").asText(), evidence.toString());
        assertTrue(
                evidence.get("measured").asDouble()
                        > 1.25 * evidence.get("predicted").asDouble(),
                evidence.toString());
        assertTrue(
                FleetObserver.await(
                        retrying(() -> {
                            JsonNode alias = registry.getJsonOrNull("api/aliases/canary");
                            return alias != null
                                    && child.equals(alias.get("modelVersion").asText());
                        }),
                        Duration.ofMinutes(1)),
                "the child is the canary candidate");
    }

    /** A copy of the decoder version whose adapter's B factors are scaled up 40 times: same front, worse text. */
    static Path degraded(Path dir) throws Exception {
        DecoderBundle.Loaded loaded = DecoderBundle.read(bundle);
        Map<String, Safetensors.Tensor> tensors = new HashMap<>(loaded.tensors());
        for (String name : List.copyOf(tensors.keySet())) {
            if (!name.startsWith("lora.") || !name.endsWith(".B")) continue;
            float[] v = tensors.get(name).floats();
            for (int i = 0; i < v.length; i++) v[i] *= 40;
            tensors.put(name, Safetensors.Tensor.ofFloats(v, tensors.get(name).shape()));
        }
        DecoderBundle.write(dir, loaded.manifest(), tensors);
        for (String f : FleetDecoderBundle.baseFiles()) Files.copy(bundle.resolve(f), dir.resolve(f));
        return dir;
    }

    /** Every device runs {@code version}, refused it (a corrupted download) or has no feasible configuration. */
    static boolean settled(String version) throws Exception {
        for (DeviceCapabilities d : devices) {
            JsonNode dev = registry.getJsonOrNull("api/devices/" + d.deviceId());
            if (dev == null) return false;
            String status = dev.get("status").asText();
            if (status.equals("unassignable") || status.equals("failed")) continue;
            if (!status.equals("running")
                    || !version.equals(dev.path("modelVersion").asText())) return false;
        }
        return true;
    }

    static int onVersion(String version) throws Exception {
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                ResultSet rs = c.createStatement()
                        .executeQuery("select count(*) from registry.devices where update_version = '" + version
                                + "' or model_version = '" + version + "'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** A check that asks the registry: a failed request (a restart, a timeout) counts as not yet. */
    static BooleanSupplier retrying(Callable<Boolean> check) {
        return () -> {
            try {
                return check.call();
            } catch (Exception e) {
                return false;
            }
        };
    }

    static String statuses() {
        try {
            return registry.getJson("api/fleet/summary").path("byStatus").toString();
        } catch (Exception e) {
            return e.toString();
        }
    }
}
