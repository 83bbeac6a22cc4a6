package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.fleet.messaging.Failures;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.security.Credentials;
import ai.coalora.fleet.security.DeviceToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The system end to end on real components: Kafka and PostgreSQL from Maven artifacts, the three services
 * as processes of their packaged applications, a model version trained with the real engine on real data,
 * and 100 simulated devices.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetEndToEndIT {
    static final int DEVICES = 100;
    static final Duration WAIT = Duration.ofMinutes(4);

    static Path work;
    static FleetStack stack;
    static FleetObserver observer;
    static ModelPublisher.Published version;
    static RegistryClient registry;
    static KafkaProducer<String, byte[]> producer;
    static List<DeviceCapabilities> devices;
    static Map<String, String> tokens;

    @BeforeAll
    static void startTheSystem() throws Exception {
        Path bundle = FleetBundle.TEST.ensure(Progress.NONE);
        work = Files.createTempDirectory("coalora-e2e-");
        stack = FleetStack.start(work, m -> System.out.println("[e2e] " + m));
        observer = new FleetObserver(stack.kafkaAdmin());
        registry = stack.registry(FleetStack.ADMIN_USER);
        version = ModelPublisher.registerAndPromote(registry, bundle, "production", "e2e-test", "first version");
        producer = SimulatedFleet.producer(stack.kafkaAdmin());
        devices = SimulatedFleet.devices(DEVICES, version.front(), 7);
        tokens = new HashMap<>(
                stack.enrol(devices.stream().map(DeviceCapabilities::deviceId).toList()));
    }

    @AfterAll
    static void stopTheSystem() {
        if (producer != null) producer.close();
        if (observer != null) observer.close();
        if (stack != null) stack.close();
    }

    @Test
    @Order(1)
    void everyDeviceGetsExactlyOneAssignmentAndOneVerifiedAdapter() throws Exception {
        SimulatedFleet.announce(stack.gateway(), tokens, devices);
        assertTrue(
                FleetObserver.await(() -> devices.stream().allMatch(d -> answered(d.deviceId())), WAIT),
                "every device answered: "
                        + devices.stream().filter(d -> !answered(d.deviceId())).count() + " still waiting");
        Thread.sleep(2000); // room for any duplicate to show up

        ArtifactVerifier verifier = new ArtifactVerifier(stack.credentials(FleetStack.VIEWER_USER), stack.rootKey());
        Set<String> configs = new HashSet<>();
        int infeasible = 0;
        for (DeviceCapabilities d : devices) {
            List<Assignment> as = observer.assignmentsOf(d.deviceId());
            assertEquals(1, as.size(), d.deviceId() + " assignments");
            Assignment a = as.get(0);
            FrontEntry best = bestFitting(d, version.front());
            if (best == null) {
                infeasible++;
                assertFalse(a.feasible(), d.deviceId() + " fits nothing");
                assertTrue(a.reason().startsWith("no feasible configuration"), a.reason());
                assertEquals(0, observer.adaptersOf(d.deviceId()).size(), d.deviceId() + " gets no adapter");
                continue;
            }
            assertTrue(a.feasible(), d.deviceId() + ": " + a.reason());
            assertEquals(
                    best.predicted(),
                    a.predicted(),
                    1e-12,
                    d.deviceId() + " gets the best predicted fitting configuration");
            assertTrue(a.footprint().totalBytes() <= d.memoryBytes(), d.deviceId() + " fits in memory");
            assertEquals(version.modelVersion(), a.modelVersion());
            List<AdapterReady> ready = observer.adaptersOf(d.deviceId());
            assertEquals(1, ready.size(), d.deviceId() + " adapters");
            assertEquals(a.assignmentId(), ready.get(0).assignmentId());
            assertEquals(a.configId(), ready.get(0).configId());
            assertTrue(verifier.verify(ready.get(0)) > 0);
            configs.add(a.configId());
        }
        // what a device reads from its package: the sidecar names the version and the exact configuration
        AdapterReady any = observer.adapters().values().iterator().next().get(0);
        JsonNode sidecar = Payloads.JSON.readTree(registry.getBlob(any.artifacts().stream()
                .filter(x -> x.role().equals("sidecar"))
                .findFirst()
                .orElseThrow()
                .sha256()));
        assertEquals(any.modelVersion(), sidecar.get("modelVersion").asText());
        assertEquals(any.configId(), sidecar.get("configId").asText());
        assertEquals(any.averageBits(), sidecar.get("averageBits").asDouble(), 1e-12);
        assertTrue(sidecar.get("configuration").get("matrices").size() > 0, "per-matrix configuration inline");
        assertTrue(
                infeasible > 0 && infeasible < DEVICES,
                "the simulated fleet has devices that fit nothing and devices that fit: " + infeasible);
        assertTrue(configs.size() >= 3, "varied devices get varied configurations: " + configs.size());

        // the registry recorded the same
        assertTrue(
                FleetObserver.await(
                        () -> summary().path("byStatus").path("ready").asLong() == DEVICES - countInfeasible(),
                        Duration.ofSeconds(30)),
                "registry summary: " + summary());
        JsonNode summary = summary();
        assertEquals(DEVICES, summary.get("devices").asLong());
        assertEquals(configs.size(), summary.get("adapterPackages").asLong(), "one package per distinct configuration");
        JsonNode packages = generatorPackages();
        assertEquals(configs.size(), packages.size(), "each configuration generated once");
    }

    @Test
    @Order(2)
    void aDeviceWhoseCapabilitiesChangeIsReplanned() throws Exception {
        DeviceCapabilities d = devices.stream()
                .filter(x -> bestFitting(x, version.front()) != null)
                .max(Comparator.comparingDouble(
                        x -> bestFitting(x, version.front()).averageBits()))
                .orElseThrow();
        Assignment before = observer.assignmentsOf(d.deviceId()).get(0);
        FrontEntry smallest = version.front().stream()
                .filter(e -> d.weightBits().containsAll(e.weightBits()))
                .min(Comparator.comparingLong(e -> e.weightBytes() + e.adapterBytes()))
                .orElseThrow();
        DeviceCapabilities shrunk = new DeviceCapabilities(
                d.deviceId(),
                smallest.weightBytes() + smallest.adapterBytes() + d.overheadBytes(),
                d.weightBits(),
                d.runtimeFormats(),
                d.computeClass(),
                d.runtimeOverheadBytes(),
                d.labels());
        SimulatedFleet.announce(stack.gateway(), tokens, List.of(shrunk));
        assertTrue(FleetObserver.await(
                () -> observer.assignmentsOf(d.deviceId()).size() == 2
                        && observer.adaptersOf(d.deviceId()).size() == 2,
                WAIT));
        Assignment after = observer.assignmentsOf(d.deviceId()).get(1);
        assertTrue(after.feasible());
        assertNotEquals(before.configId(), after.configId(), "less memory, another configuration");
        assertEquals(bestFitting(shrunk, version.front()).configId(), after.configId());
        assertTrue(after.footprint().totalBytes() <= shrunk.memoryBytes());
        assertEquals(
                after.assignmentId(), observer.adaptersOf(d.deviceId()).get(1).assignmentId());

        // announcing the same capabilities again (a reboot) changes nothing: no third assignment
        SimulatedFleet.announce(stack.gateway(), tokens, List.of(shrunk));
        Thread.sleep(3000);
        assertEquals(2, observer.assignmentsOf(d.deviceId()).size());
    }

    @Test
    @Order(3)
    void malformedEventsAreDeadLetteredWithReasonsAndTheServicesKeepRunning() throws Exception {
        String topic = Topic.CAPABILITIES.name();
        DeviceCapabilities good = devices.get(0);
        CloudEvent valid = SimulatedFleet.event(good);
        // 1: not JSON
        send(topic, "bad-1", "{not json".getBytes(StandardCharsets.UTF_8), KafkaCloudEvents.headers(valid));
        // 2: not a CloudEvent (no ce_ headers)
        send(
                topic,
                "bad-2",
                KafkaCloudEvents.value(valid),
                new org.apache.kafka.common.header.internals.RecordHeaders());
        // 3: schema-invalid: 5-bit weights, memory as a string
        ObjectNode bad = (ObjectNode) Payloads.toJson(
                new DeviceCapabilities("bad-3", 1, List.of(5), List.of("coalora-packed"), "low", null, null));
        bad.put("memoryBytes", "lots");
        CloudEvent invalid = CloudEvent.create("/test", EventTypes.CAPABILITIES, "bad-3", null, bad);
        send(topic, "bad-3", KafkaCloudEvents.value(invalid), KafkaCloudEvents.headers(invalid));
        // 4: an event of another type on the capabilities topic
        CloudEvent wrongType = CloudEvent.create(
                "/test",
                EventTypes.TELEMETRY,
                "bad-4",
                null,
                Payloads.JSON.createObjectNode().put("deviceId", "bad-4"));
        send(topic, "bad-4", KafkaCloudEvents.value(wrongType), KafkaCloudEvents.headers(wrongType));
        // 5: key and subject disagree
        CloudEvent other = SimulatedFleet.event(new DeviceCapabilities(
                "bad-5",
                good.memoryBytes(),
                good.weightBits(),
                good.runtimeFormats(),
                good.computeClass(),
                null,
                null));
        send(topic, "somebody-else", KafkaCloudEvents.value(other), KafkaCloudEvents.headers(other));
        // 6: a replayed event (same id) is not an error: it is skipped, not dead-lettered
        CloudEvent firstOfDevice1 = SimulatedFleet.event(devices.get(1));
        send(
                topic,
                devices.get(1).deviceId(),
                KafkaCloudEvents.value(firstOfDevice1),
                KafkaCloudEvents.headers(firstOfDevice1));
        send(
                topic,
                devices.get(1).deviceId(),
                KafkaCloudEvents.value(firstOfDevice1),
                KafkaCloudEvents.headers(firstOfDevice1));
        producer.flush();

        // both consumers of the capabilities topic (planner and registry) dead-letter each bad record
        Map<String, List<String>> expected = Map.of(
                "bad-1",
                List.of("not JSON"),
                "bad-3",
                List.of("memoryBytes", "weightBits"),
                "bad-4",
                List.of("does not belong"),
                "somebody-else",
                List.of("differs from the event subject"));
        assertTrue(
                FleetObserver.await(
                        () -> deadLettered("coalora-planner") >= 5 && deadLettered("coalora-registry") >= 5, WAIT),
                "dead letters: " + observer.deadLetters());
        for (FleetObserver.DeadLetter dl : observer.deadLetters()) {
            assertEquals(topic + Topic.DLQ_SUFFIX, dl.topic());
            assertFalse(dl.reason() == null || dl.reason().isBlank(), "every dead letter says why");
        }
        for (var e : expected.entrySet()) {
            for (String service : List.of("coalora-planner", "coalora-registry")) {
                FleetObserver.DeadLetter dl = observer.deadLetters().stream()
                        .filter(x -> e.getKey().equals(x.key()) && x.service().equals(service))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError(
                                service + " dead-lettered no " + e.getKey() + ": " + observer.deadLetters()));
                for (String word : e.getValue())
                    assertTrue(dl.reason().contains(word), dl.reason() + " should mention " + word);
            }
        }
        assertTrue(
                observer.deadLetters().stream().anyMatch(x -> x.reason().contains("ce_specversion")),
                "the headerless record");
        assertTrue(
                observer.deadLetters().stream()
                        .noneMatch(x -> devices.get(1).deviceId().equals(x.key())),
                "replays are not errors");
        // nothing of the bad records became a device, and the services are still up and working
        assertNull(registry.getJsonOrNull("api/devices/bad-3"));
        for (String s : FleetStack.SERVICES)
            assertEquals(200, status(stack.service(s).url() + "/q/health/ready"), s + " ready");
        DeviceCapabilities late = new DeviceCapabilities(
                "late-device",
                good.memoryBytes(),
                good.weightBits(),
                good.runtimeFormats(),
                good.computeClass(),
                good.runtimeOverheadBytes(),
                null);
        tokens.putAll(stack.enrol(List.of(late.deviceId())));
        SimulatedFleet.announce(stack.gateway(), tokens, List.of(late));
        assertTrue(
                FleetObserver.await(() -> answered("late-device"), WAIT),
                "a valid event after the bad ones is processed");
    }

    @Test
    @Order(4)
    void promotingANewVersionReplansTheWholeFleet() throws Exception {
        // a second version: the same weights with a different manifest (a retrain would change both)
        Path v2dir = Files.createDirectories(work.resolve("bundle-v2"));
        Path v1dir = FleetBundle.TEST.ensure(Progress.NONE);
        try (var files = Files.list(v1dir)) {
            for (Path f : files.toList()) Files.copy(f, v2dir.resolve(f.getFileName()));
        }
        ObjectNode manifest =
                (ObjectNode) Payloads.JSON.readTree(v2dir.resolve("bundle.json").toFile());
        ((ObjectNode) manifest.get("training")).put("createdAt", "2026-11-30T00:00:00Z");
        Files.write(v2dir.resolve("bundle.json"), Payloads.JSON.writeValueAsBytes(manifest));
        ModelPublisher.Published v2 =
                ModelPublisher.registerAndPromote(registry, v2dir, "production", "e2e-test", "second version");
        assertNotEquals(version.modelVersion(), v2.modelVersion());

        assertTrue(
                FleetObserver.await(
                        () -> devices.stream().allMatch(d -> {
                            List<Assignment> as = observer.assignmentsOf(d.deviceId());
                            return v2.modelVersion()
                                            .equals(as.get(as.size() - 1).modelVersion())
                                    && FleetRollout.done(observer, d.deviceId());
                        }),
                        WAIT),
                "every device re-planned onto the new version");
        for (DeviceCapabilities d : devices) {
            List<Assignment> as = observer.assignmentsOf(d.deviceId());
            Assignment last = as.get(as.size() - 1), previous = as.get(as.size() - 2);
            assertEquals(version.modelVersion(), previous.modelVersion(), d.deviceId() + " exactly one new assignment");
            assertEquals(previous.feasible(), last.feasible());
            assertEquals(previous.configId(), last.configId(), "the same front gives the same configuration");
        }
        JsonNode alias = registry.getJson("api/aliases/production");
        assertEquals(v2.modelVersion(), alias.get("modelVersion").asText());
        assertEquals(2, alias.get("history").size());
        assertEquals(
                version.modelVersion(),
                alias.get("history").get(1).get("previousVersion").asText());
    }

    @Test
    @Order(5)
    void theRegistryRefusesBadRequestsWithReasonsAndServesItsOpenApi() throws Exception {
        String base = stack.registryUrl();
        String zeros = "0".repeat(64);
        HttpResponse<String> r =
                http("PUT", base + "/api/blobs/" + zeros, "application/octet-stream", "not these bytes");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("sha256"), r.body());
        r = http(
                "POST",
                base + "/api/versions",
                "application/json",
                "{\"files\":[{\"name\":\"bundle.json\",\"sha256\":\"" + zeros + "\"}]}");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("no blob"), r.body());
        String notABundle = registry.putBlob("{}".getBytes(StandardCharsets.UTF_8));
        r = http(
                "POST",
                base + "/api/versions",
                "application/json",
                "{\"files\":[{\"name\":\"bundle.json\",\"sha256\":\"" + notABundle + "\"}]}");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("not a valid model bundle"), r.body());
        r = http(
                "PUT",
                base + "/api/aliases/production",
                "application/json",
                "{\"modelVersion\":\"" + zeros + "\",\"actor\":\"t\"}");
        assertEquals(404, r.statusCode());
        r = http(
                "PUT",
                base + "/api/aliases/Not_An_Alias",
                "application/json",
                "{\"modelVersion\":\"" + version.modelVersion() + "\",\"actor\":\"t\"}");
        assertEquals(400, r.statusCode());
        r = http("GET", base + "/api/devices?status=sleeping", null, null);
        assertEquals(400, r.statusCode());
        assertEquals(404, http("GET", base + "/api/devices/nobody", null, null).statusCode());
        assertEquals(404, http("GET", base + "/api/blobs/" + zeros, null, null).statusCode());
        // nothing of that changed where production points
        assertEquals(
                2, registry.getJson("api/aliases/production").get("history").size());
        r = http("GET", base + "/openapi", null, null);
        assertEquals(200, r.statusCode());
        for (String path : List.of(
                "/api/versions",
                "/api/aliases/{alias}",
                "/api/devices",
                "/api/assignments",
                "/api/blobs/{sha256}",
                "/api/fleet/summary")) {
            assertTrue(r.body().contains(path), "OpenAPI documents " + path);
        }
    }

    /** The least role each state-changing endpoint needs; every other endpoint (a read) needs viewer. */
    static final Map<String, String> LEAST_ROLE = Map.of(
            "PUT /api/blobs/{sha256}", "operator",
            "POST /api/versions", "operator",
            "POST /api/rollouts", "operator",
            "POST /api/rollouts/{id}/{action}", "operator",
            "PUT /api/aliases/{alias}", "admin",
            "GET /api/audit", "admin",
            "POST /api/devices/enrolments", "operator",
            "GET /api/devices/{deviceId}/credentials", "operator",
            "DELETE /api/devices/{deviceId}/credentials", "operator");

    @Test
    @Order(6)
    void everyEndpointNeedsCredentialsAndTheRightRole() throws Exception {
        Credentials admin = stack.credentials(FleetStack.ADMIN_USER);
        JsonNode openapi =
                Payloads.JSON.readTree(http(admin, "GET", stack.registryUrl() + "/openapi?format=json", null, null)
                        .body());
        Map<String, Credentials> weaker = Map.of(
                "operator",
                stack.credentials(FleetStack.VIEWER_USER),
                "admin",
                stack.credentials(FleetStack.OPERATOR_USER));
        Credentials wrongPassword = new Credentials(FleetStack.ADMIN_USER, "not-the-password"),
                unknown = new Credentials("mallory", "x");
        int endpoints = 0, roleChecks = 0;
        for (var path : (Iterable<Map.Entry<String, JsonNode>>) openapi.get("paths")::fields) {
            if (path.getKey().startsWith("/" + GatewayClient.PREFIX)) continue; // devices' tokens: the gateway test
            String url = stack.registryUrl()
                    + path.getKey().replace("{sha256}", "0".repeat(64)).replaceAll("\\{[^}]+}", "x");
            for (var op : (Iterable<Map.Entry<String, JsonNode>>) path.getValue()::fields) {
                String method = op.getKey().toUpperCase(Locale.ROOT), endpoint = method + " " + path.getKey();
                String type = method.equals("PUT") && path.getKey().startsWith("/api/blobs")
                        ? "application/octet-stream"
                        : "application/json";
                String body = method.equals("GET") || method.equals("HEAD") ? null : "{}";
                endpoints++;
                for (Credentials bad : Arrays.asList(null, wrongPassword, unknown)) {
                    assertEquals(401, http(bad, method, url, type, body).statusCode(), endpoint + " with " + bad);
                }
                String least = LEAST_ROLE.getOrDefault(
                        endpoint, method.equals("GET") || method.equals("HEAD") ? "viewer" : null);
                assertNotNull(least, endpoint + " changes state but LEAST_ROLE does not say who may call it");
                if (!least.equals("viewer")) {
                    assertEquals(
                            403,
                            http(weaker.get(least), method, url, type, body).statusCode(),
                            endpoint + " with a role below " + least);
                    roleChecks++;
                } else {
                    int viewer = http(stack.credentials(FleetStack.VIEWER_USER), method, url, type, body)
                            .statusCode();
                    assertTrue(viewer != 401 && viewer != 403, endpoint + " is readable by a viewer: " + viewer);
                }
            }
        }
        assertTrue(
                endpoints >= 15 && roleChecks >= LEAST_ROLE.size(),
                endpoints + " endpoints, " + roleChecks + " role checks");
        System.out.printf(
                "access control: %d registry endpoints x 3 bad credentials -> 401, %d too-weak roles -> 403%n",
                endpoints, roleChecks);
        // the trainer's account moves canary and nothing else
        Credentials trainer = stack.credentials("trainer");
        String promotion = "{\"modelVersion\":\"" + version.modelVersion() + "\",\"reason\":\"role test\"}";
        assertEquals(
                403,
                http(trainer, "PUT", stack.registryUrl() + "/api/aliases/production", "application/json", promotion)
                        .statusCode());
        assertEquals(
                200,
                http(trainer, "PUT", stack.registryUrl() + "/api/aliases/canary", "application/json", promotion)
                        .statusCode());

        // the other services too; health and metrics stay open for probes and scrapers
        for (String service : FleetStack.SERVICES) {
            String base = stack.service(service).url(),
                    apiDoc = base + (service.equals("registry") ? "/openapi" : "/q/openapi");
            assertEquals(
                    401, http(null, "GET", apiDoc, null, null).statusCode(), service + " OpenAPI without credentials");
            assertEquals(
                    401,
                    http(wrongPassword, "GET", apiDoc, null, null).statusCode(),
                    service + " OpenAPI with a wrong password");
            assertEquals(
                    200,
                    http(stack.credentials(FleetStack.VIEWER_USER), "GET", apiDoc, null, null)
                            .statusCode(),
                    service);
            assertEquals(
                    200,
                    http(null, "GET", base + "/q/health/ready", null, null).statusCode(),
                    service + " readiness is open");
        }
        assertEquals(
                401,
                http(null, "GET", stack.service("planner").url() + "/api/planner/status", null, null)
                        .statusCode());
        assertEquals(
                200,
                http(
                                stack.credentials(FleetStack.VIEWER_USER),
                                "GET",
                                stack.service("planner").url() + "/api/planner/status",
                                null,
                                null)
                        .statusCode());

        // the audit log: operator actions with who did them, denied attempts included; append-only
        JsonNode audit =
                Payloads.JSON.readTree(http(admin, "GET", stack.registryUrl() + "/api/audit?limit=1000", null, null)
                        .body());
        Set<String> seen = new HashSet<>();
        for (JsonNode e : audit)
            seen.add(e.path("actor").asText() + " " + e.get("method").asText() + " "
                    + e.get("status").asInt() + " " + e.get("path").asText().replaceAll("/[0-9a-f]{64}", "/SHA"));
        assertTrue(seen.contains("admin PUT 200 /api/aliases/production"), "the promotion is audited: " + seen);
        assertTrue(
                seen.contains("mallory PUT 401 /api/aliases/x"),
                "a rejected login is audited with the name it claimed");
        assertTrue(
                seen.contains("viewer PUT 403 /api/aliases/x") || seen.contains("operator PUT 403 /api/aliases/x"),
                "a denied action is audited");
        try (var c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                var st = c.createStatement()) {
            SQLException e = org.junit.jupiter.api.Assertions.assertThrows(
                    SQLException.class, () -> st.executeUpdate("update registry.audit_log set actor = 'nobody'"));
            assertTrue(e.getMessage().contains("append-only"), e.getMessage());
            e = org.junit.jupiter.api.Assertions.assertThrows(
                    SQLException.class, () -> st.executeUpdate("delete from registry.audit_log"));
            assertTrue(e.getMessage().contains("append-only"), e.getMessage());
        }
        // passwords are stored hashed only
        String users = Files.readString(stack.workDir().resolve("users"));
        for (String account : FleetStack.ACCOUNTS.keySet())
            assertFalse(users.contains(stack.credentials(account).password()), account);
    }

    @Test
    @Order(7)
    void theGatewayLetsADeviceSpeakOnlyForItselfAndARevokedDeviceNotAtAll() throws Exception {
        DeviceCapabilities a = devices.get(0), b = devices.get(1);
        GatewayClient gateway = stack.gateway();
        String token = tokens.get(a.deviceId());
        // a device speaking as another is refused, and nothing changes for the other device
        long assignmentsOfB = observer.assignmentsOf(b.deviceId()).size();
        Failures.Refused impersonation = assertThrows(Failures.Refused.class, () -> gateway.capabilities(token, b));
        assertEquals(403, impersonation.status(), impersonation.getMessage());
        // no token, a made-up one, a user's password: 401 saying which scheme is expected
        HttpClient http = HttpClient.newHttpClient();
        String url = stack.registryUrl() + "/" + GatewayClient.PREFIX + "capabilities";
        for (String auth : new String[] {
            null,
            DeviceToken.authorizationHeader(DeviceToken.generate()),
            stack.credentials(FleetStack.ADMIN_USER).authorizationHeader()
        }) {
            HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(Payloads.JSON.writeValueAsBytes(a)));
            if (auth != null) r.header("Authorization", auth);
            HttpResponse<String> answer = http.send(r.build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, answer.statusCode(), answer.body());
            assertTrue(
                    answer.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
        }
        // the gateway speaks HTTPS; a client that does not trust its certificate gets no answer at all
        assertTrue(stack.gatewayUrl().startsWith("https://"), stack.gatewayUrl());
        IOException untrusted =
                assertThrows(IOException.class, () -> new GatewayClient(stack.gatewayUrl()).capabilities(token, a));
        assertFalse(untrusted instanceof Failures.Refused, "refused before any HTTP exchange: " + untrusted);
        // a device token is not an account: the operators' API refuses it
        assertEquals(
                401,
                http.send(
                                HttpRequest.newBuilder(URI.create(stack.registryUrl() + "/api/devices"))
                                        .header("Authorization", DeviceToken.authorizationHeader(token))
                                        .build(),
                                HttpResponse.BodyHandlers.discarding())
                        .statusCode());
        // a device downloads its own package's files and nothing else
        GatewayClient.Package own = gateway.nextPackage(token, null, Duration.ZERO)
                .get(30, TimeUnit.SECONDS)
                .orElseThrow();
        Artifact mine = own.ready().artifacts().get(0);
        assertEquals(mine.bytes(), gateway.download(token, mine.url()).length);
        Set<String> ownFiles = new HashSet<>();
        own.ready().artifacts().forEach(f -> ownFiles.add(f.sha256()));
        String foreign = observer.adapters().values().stream() // a file of another device's package
                .flatMap(List::stream)
                .flatMap(r -> r.artifacts().stream())
                .map(Artifact::sha256)
                .filter(sha -> !ownFiles.contains(sha))
                .findFirst()
                .orElseThrow();
        Failures.Refused notMine = assertThrows(
                Failures.Refused.class, () -> gateway.download(token, GatewayClient.PREFIX + "blobs/" + foreign));
        assertEquals(403, notMine.status());

        // revoked: every request with the old token is a 401; re-enrolment issues a new one that works
        stack.registry(FleetStack.OPERATOR_USER).revoke(a.deviceId());
        Failures.Refused revoked = assertThrows(Failures.Refused.class, () -> gateway.capabilities(token, a));
        assertEquals(401, revoked.status());
        ExecutionException polled = assertThrows(
                ExecutionException.class,
                () -> gateway.nextPackage(token, null, Duration.ZERO).get(30, TimeUnit.SECONDS));
        assertEquals(
                401,
                assertInstanceOf(Failures.Refused.class, polled.getCause()).status(),
                polled.getCause().getMessage());
        tokens.putAll(stack.registry(FleetStack.OPERATOR_USER).enrol(List.of(a.deviceId()), true));
        gateway.capabilities(tokens.get(a.deviceId()), a);
        Thread.sleep(2000);
        assertEquals(assignmentsOfB, observer.assignmentsOf(b.deviceId()).size(), "b was not re-planned by a");
    }

    @Test
    @Order(100)
    void everyServiceExportsPrometheusMetricsWithoutPerDeviceLabels() throws Exception {
        // telemetry from up to 3 devices per half-bit segment (at their predicted accuracy: no retraining request), so
        // the
        // telemetry metrics have something to show
        Map<String, List<Double>> accuracyBySegment = new HashMap<>();
        int reports = 0;
        for (DeviceCapabilities d : devices) {
            List<AdapterReady> ready = observer.adaptersOf(d.deviceId());
            if (ready.isEmpty()) continue;
            AdapterReady r = ready.get(ready.size() - 1);
            double from = Math.floor(r.averageBits() * 2) / 2;
            String segment = String.format(Locale.ROOT, "%.1f-%.1f", from, from + 0.5);
            if (accuracyBySegment.getOrDefault(segment, List.of()).size() == 3) continue;
            List<Assignment> as = observer.assignmentsOf(d.deviceId());
            double accuracy = as.get(as.size() - 1).predicted();
            EvaluationTelemetry t = EvaluationTelemetry.accuracy(
                    d.deviceId(),
                    r.modelVersion(),
                    r.configId(),
                    r.packageSha256(),
                    accuracy,
                    20,
                    1.5,
                    1000,
                    Instant.now());
            stack.gateway().telemetry(tokens.get(d.deviceId()), t); // as the device reports it
            accuracyBySegment.computeIfAbsent(segment, k -> new ArrayList<>()).add(accuracy);
            reports++;
        }
        final int published = reports;
        assertTrue(published > 0);
        // the registry's database gauges refresh every 5 s: wait until they show the telemetry and today's devices
        assertTrue(
                FleetObserver.await(
                        () -> {
                            PrometheusScrape r = scrape("registry");
                            return r.value("coalora_telemetry_reports_total", Map.of()) == published
                                    && r.sum("coalora_devices", Map.of())
                                            == summary().get("devices").asLong()
                                    && r.samples("coalora_telemetry_accuracy", Map.of())
                                                    .size()
                                            == accuracyBySegment.size();
                        },
                        Duration.ofSeconds(60)),
                "registry metrics caught up:\n" + scrape("registry").text());

        Set<String> deviceIds = new HashSet<>();
        for (DeviceCapabilities d : devices) deviceIds.add(d.deviceId());
        deviceIds.add("late-device");
        Pattern name = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
        Map<String, PrometheusScrape> scrapes = new LinkedHashMap<>();
        for (String service : FleetStack.SERVICES) {
            String base = stack.service(service).url();
            // reachable without credentials, like the health checks
            assertEquals(200, status(base + "/q/health/live"), service + " live");
            assertEquals(200, status(base + "/q/health/ready"), service + " ready");
            PrometheusScrape m = scrape(service);
            scrapes.put(service, m);
            assertFalse(m.samples().isEmpty(), service + " exports metrics");
            for (var type : m.types().entrySet())
                assertTrue(name.matcher(type.getKey()).matches(), service + ": metric name " + type.getKey());
            for (PrometheusScrape.Sample x : m.samples()) {
                assertTrue(name.matcher(x.name()).matches(), service + ": metric name " + x.name());
                if ("counter".equals(m.typeOf(x.name())))
                    assertTrue(x.name().endsWith("_total"), service + ": counter " + x.name() + " ends in _total");
                for (var label : x.labels().entrySet()) {
                    for (String id : deviceIds) {
                        assertFalse(
                                label.getValue().contains(id),
                                service + ": " + x.name() + " has a per-device label " + label);
                    }
                }
            }
            // the default JVM metrics stay (HTTP server metrics: below, for the registry this test called)
            assertFalse(m.samples("jvm_memory_used_bytes", Map.of()).isEmpty(), service + " JVM metrics");
            // the shared event processor's: every consumed topic, every outcome, and the lag
            String group = "coalora-" + service;
            assertFalse(
                    m.samples("coalora_events_processed_total", Map.of("service", group))
                            .isEmpty(),
                    service + " events processed");
            for (PrometheusScrape.Sample x : m.samples("coalora_events_processed_total", Map.of())) {
                assertEquals(group, x.labels().get("service"));
                assertTrue(
                        Set.of("applied", "duplicate", "dead_lettered")
                                .contains(x.labels().get("outcome")),
                        x.toString());
                assertTrue(
                        m.value(
                                        "coalora_consumer_lag_records",
                                        Map.of(
                                                "service",
                                                group,
                                                "topic",
                                                x.labels().get("topic")))
                                >= 0,
                        service + " lag of " + x.labels().get("topic"));
            }
        }

        PrometheusScrape registryMetrics = scrapes.get("registry"),
                planner = scrapes.get("planner"),
                generator = scrapes.get("adapter-generator");
        assertTrue(
                registryMetrics.sum("http_server_requests_seconds_count", Map.of("uri", "/api/fleet/summary")) >= 1,
                "HTTP server metrics, by route template:\n" + registryMetrics.text());
        String capabilities = Topic.CAPABILITIES.name();
        for (String service : List.of("registry", "planner", "adapter-generator")) {
            assertTrue(
                    scrapes.get(service).sum("coalora_events_processed_total", Map.of("outcome", "applied")) > 0,
                    service + " applied events");
        }
        for (PrometheusScrape m : List.of(registryMetrics, planner)) {
            // test 3 sent five malformed records and one replay to the capabilities topic both consume
            assertTrue(
                    m.value("coalora_events_processed_total", Map.of("topic", capabilities, "outcome", "dead_lettered"))
                            >= 5,
                    m.text());
            assertTrue(
                    m.value("coalora_events_processed_total", Map.of("topic", capabilities, "outcome", "duplicate"))
                            >= 1,
                    m.text());
            assertTrue(
                    m.value("coalora_events_processed_total", Map.of("topic", capabilities, "outcome", "applied"))
                            >= DEVICES + 3,
                    m.text());
        }
        assertTrue(generator.value(
                        "coalora_events_processed_total",
                        Map.of("topic", Topic.ASSIGNMENTS.name(), "outcome", "applied"))
                >= DEVICES);
        assertFalse(scrapes.get("trainer")
                .samples("coalora_events_processed_total", Map.of("topic", Topic.RETRAINING_REQUESTS.name()))
                .isEmpty());

        // planner: every device decided at least once (twice with the second version); devices that fit nothing are
        // infeasible
        double feasible = planner.value("coalora_planner_decisions_total", Map.of("outcome", "feasible"));
        double infeasible = planner.value("coalora_planner_decisions_total", Map.of("outcome", "infeasible"));
        assertTrue(feasible + infeasible >= 2 * DEVICES, "decisions: " + feasible + " + " + infeasible);
        assertTrue(infeasible >= 2 * countInfeasible(), "infeasible decisions: " + infeasible);
        assertTrue(feasible >= 2 * (DEVICES - countInfeasible()), "feasible decisions: " + feasible);

        // adapter-generator: one package per (version, configuration), generated once
        assertEquals(generatorPackages().size(), generator.value("coalora_adapters_generated_total", Map.of()), 0.0);

        // registry: devices by status as the fleet summary says, rollouts by state, telemetry, retraining requests
        JsonNode summary = summary();
        for (String status : List.of("pending", "unassignable", "assigned", "ready", "running", "failed")) {
            assertEquals(
                    summary.get("byStatus").path(status).asLong(0),
                    registryMetrics.value("coalora_devices", Map.of("status", status)),
                    0.0,
                    status);
        }
        for (String state : List.of("running", "paused", "succeeded", "aborted", "reverting", "reverted")) {
            assertEquals(
                    0.0,
                    registryMetrics.value("coalora_rollouts", Map.of("state", state)),
                    0.0,
                    "no rollouts in this test: " + state);
        }
        for (var e : accuracyBySegment.entrySet()) {
            double mean = e.getValue().stream()
                    .mapToDouble(Double::doubleValue)
                    .average()
                    .orElseThrow();
            assertEquals(
                    mean,
                    registryMetrics.value("coalora_telemetry_accuracy", Map.of("bit_segment", e.getKey())),
                    1e-9,
                    e.getKey());
        }
        assertEquals(published, registryMetrics.value("coalora_telemetry_reports_total", Map.of()), 0.0);
        for (String trigger : List.of("quality", "coverage")) {
            assertEquals(
                    1,
                    registryMetrics
                            .samples("coalora_retraining_requests_total", Map.of("trigger", trigger))
                            .size(),
                    trigger);
        }
        assertEquals(
                0.0,
                registryMetrics.value("coalora_retraining_requests_total", Map.of("trigger", "quality")),
                0.0,
                "telemetry at the predicted accuracy raises no request");

        // each service's own metrics are its own
        Map<String, String> owner = Map.of(
                "coalora_planner_decisions_total",
                "planner",
                "coalora_adapters_generated_total",
                "adapter-generator",
                "coalora_rollouts",
                "registry",
                "coalora_devices",
                "registry",
                "coalora_telemetry_accuracy",
                "registry",
                "coalora_telemetry_reports_total",
                "registry",
                "coalora_retraining_requests_total",
                "registry");
        for (var e : owner.entrySet()) {
            for (var s : scrapes.entrySet()) {
                assertEquals(
                        s.getKey().equals(e.getValue()),
                        !s.getValue().samples(e.getKey(), Map.of()).isEmpty(),
                        e.getKey() + " in " + s.getKey());
            }
        }
    }

    static PrometheusScrape scrape(String service) {
        try {
            HttpResponse<String> r = http(null, "GET", stack.service(service).url() + "/q/metrics", null, null);
            assertEquals(200, r.statusCode(), service + " /q/metrics");
            return PrometheusScrape.parse(r.body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static HttpResponse<String> http(String method, String url, String contentType, String body) throws Exception {
        return http(stack.credentials(FleetStack.ADMIN_USER), method, url, contentType, body);
    }

    /** A raw request; null credentials send none. */
    static HttpResponse<String> http(
            Credentials credentials, String method, String url, String contentType, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) b.header("Content-Type", contentType);
        if (credentials != null) b.header("Authorization", credentials.authorizationHeader());
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The most accurate front entry the device can run (brute force: the test's own statement of the rule). */
    static FrontEntry bestFitting(DeviceCapabilities d, List<FrontEntry> front) {
        return front.stream()
                .filter(e -> d.weightBits().containsAll(e.weightBits()))
                .filter(e -> e.runtimeFormats().stream().anyMatch(d.runtimeFormats()::contains))
                .filter(e -> e.weightBytes() + e.adapterBytes() + d.overheadBytes() <= d.memoryBytes())
                .max(Comparator.comparingDouble(FrontEntry::predicted)
                        .thenComparing(Comparator.comparingLong((FrontEntry e) -> e.weightBytes() + e.adapterBytes())
                                .reversed()))
                .orElse(null);
    }

    static boolean answered(String deviceId) {
        return FleetRollout.done(observer, deviceId);
    }

    static long countInfeasible() {
        return devices.stream()
                .filter(d -> bestFitting(d, version.front()) == null)
                .count();
    }

    static long deadLettered(String service) {
        return observer.deadLetters().stream()
                .filter(d -> d.service().equals(service))
                .count();
    }

    static void send(String topic, String key, byte[] value, Headers headers) {
        producer.send(new ProducerRecord<>(topic, null, key, value, headers));
    }

    static JsonNode summary() {
        try {
            return registry.getJson("api/fleet/summary");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode generatorPackages() throws Exception {
        try (var c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                var st = c.createStatement();
                var rs = st.executeQuery("select json_agg(config_id) from generator.packages")) {
            rs.next();
            return Payloads.JSON.readTree(rs.getString(1));
        }
    }

    static int status(String url) throws Exception {
        return HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }
}
