package ai.coalora.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.security.DeviceToken;
import ai.coalora.registry.DeviceCredentials.Enrolment;
import ai.coalora.registry.DeviceCredentials.Issued;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The device gateway's rules against a real PostgreSQL with the registry's migrations (no broker: what it publishes
 * lands in the outbox table): per-device credentials issued, replaced and revoked; a device speaks only for itself;
 * bad reports are refused with the reason and publish nothing; a held package request answers when the device's
 * adapter-ready commits; a device downloads only its own package's files.
 */
class DeviceGatewayIT {
    static RegistryTestDatabase db;
    static DeviceCredentials credentials;
    static DeviceGateway gateway;
    static FleetEventsHandler handler;

    @BeforeAll
    static void start() throws Exception {
        db = RegistryTestDatabase.start();
        RegistryService service = new RegistryService(null);
        credentials = new DeviceCredentials(db.dataSource);
        gateway = new DeviceGateway(db.dataSource, service);
        RegistryMetrics metrics = new RegistryMetrics(db.dataSource, new SimpleMeterRegistry());
        handler = new FleetEventsHandler(
                new RetrainingMonitor(0.05, 3, 0.5, 3, metrics), metrics, service::packageChanged);
    }

    @AfterAll
    static void stop() {
        if (db != null) db.close();
    }

    @Test
    void eachDeviceGetsItsOwnTokenStoredOnlyAsAHashAndRevocationEndsIt() throws Exception {
        String a = device(), b = device();
        List<Issued> issued = credentials.enrol(new Enrolment(List.of(a, b), null), "operator");
        assertEquals(2, issued.size());
        String tokenA = issued.get(0).token(), tokenB = issued.get(1).token();
        assertTrue(DeviceToken.isWellFormed(tokenA) && !tokenA.equals(tokenB));
        assertEquals(
                0L,
                ((Number) db.value("select count(*) from device_credentials where token_sha256 = ?", tokenA))
                        .longValue(),
                "the token itself is not stored");
        assertEquals(a, credentials.authenticate(DeviceToken.authorizationHeader(tokenA)));
        assertEquals(b, credentials.authenticate(DeviceToken.authorizationHeader(tokenB)));

        // enrolling again is refused unless it replaces, which revokes the old token
        ApiException twice =
                assertThrows(ApiException.class, () -> credentials.enrol(new Enrolment(List.of(a), null), "operator"));
        assertEquals(ApiException.Status.CONFLICT, twice.status());
        String newA = credentials
                .enrol(new Enrolment(List.of(a), true), "operator")
                .get(0)
                .token();
        assertEquals(
                ApiException.Status.UNAUTHORIZED,
                assertThrows(
                                ApiException.class,
                                () -> credentials.authenticate(DeviceToken.authorizationHeader(tokenA)))
                        .status());
        assertEquals(a, credentials.authenticate(DeviceToken.authorizationHeader(newA)));

        credentials.revoke(b, "operator");
        assertEquals(
                ApiException.Status.UNAUTHORIZED,
                assertThrows(
                                ApiException.class,
                                () -> credentials.authenticate(DeviceToken.authorizationHeader(tokenB)))
                        .status());
        assertEquals(
                ApiException.Status.NOT_FOUND,
                assertThrows(ApiException.class, () -> credentials.revoke(b, "operator"))
                        .status());
        List<DeviceCredentials.Credential> history = credentials.history(b);
        assertEquals(1, history.size());
        assertNotNull(history.get(0).revokedAt());
        assertEquals("operator", history.get(0).revokedBy());

        for (String bad : new String[] {null, "", "Basic abc", "Bearer nope", "Bearer " + DeviceToken.generate()}) {
            assertEquals(
                    ApiException.Status.UNAUTHORIZED,
                    assertThrows(ApiException.class, () -> credentials.authenticate(bad))
                            .status(),
                    bad);
        }
    }

    @Test
    void anEnrolmentWithABadIdOrADuplicateIssuesNothing() throws Exception {
        String ok = device();
        for (List<String> ids : List.of(List.of(ok, "bad id"), List.of(ok, ok), List.<String>of())) {
            assertEquals(
                    ApiException.Status.BAD_REQUEST,
                    assertThrows(ApiException.class, () -> credentials.enrol(new Enrolment(ids, null), "operator"))
                            .status());
        }
        assertTrue(credentials.history(ok).isEmpty(), "all or nothing");
    }

    @Test
    void aReportIsStampedWithTheCredentialsDeviceAndADeviceCannotSpeakForAnother() throws Exception {
        String a = device(), b = device();
        credentials.enrol(new Enrolment(List.of(a, b), null), "operator");
        DeviceCapabilities caps =
                new DeviceCapabilities(null, 1L << 30, List.of(4, 8), List.of("coalora-packed"), "mid", 0L, Map.of());
        String id = gateway.report(
                a, DeviceGateway.Report.CAPABILITIES, body(Payloads.toJson(caps).toString()));
        assertEquals(Topic.CAPABILITIES.name(), db.value("select topic from outbox where headers->>'ce_id' = ?", id));
        assertEquals(a, db.value("select record_key from outbox where headers->>'ce_id' = ?", id));
        assertEquals(a, db.value("select headers->>'ce_subject' from outbox where headers->>'ce_id' = ?", id));
        assertEquals(
                a,
                db.value(
                        "select convert_from(value, 'UTF8')::jsonb->>'deviceId' from outbox where headers->>'ce_id' = ?",
                        id));

        long before = outboxRows();
        DeviceCapabilities asB =
                new DeviceCapabilities(b, 1L << 30, List.of(4, 8), List.of("coalora-packed"), "mid", 0L, Map.of());
        ApiException impersonation = assertThrows(
                ApiException.class,
                () -> gateway.report(
                        a,
                        DeviceGateway.Report.CAPABILITIES,
                        body(Payloads.toJson(asB).toString())));
        assertEquals(ApiException.Status.FORBIDDEN, impersonation.status());
        assertTrue(impersonation.getMessage().contains("cannot speak for"), impersonation.getMessage());

        String[] bad = {"not json", "[1,2]", "{\"memoryBytes\": \"lots\"}", "{\"memoryBytes\": 1e29}"};
        for (String body : bad) {
            ApiException e = assertThrows(
                    ApiException.class, () -> gateway.report(a, DeviceGateway.Report.CAPABILITIES, body(body)));
            assertEquals(ApiException.Status.BAD_REQUEST, e.status(), body);
        }
        ApiException large = assertThrows(
                ApiException.class,
                () -> gateway.report(
                        a, DeviceGateway.Report.TELEMETRY, body("{\"x\": \"" + "y".repeat(300_000) + "\"}")));
        assertEquals(ApiException.Status.PAYLOAD_TOO_LARGE, large.status());
        assertEquals(before, outboxRows(), "nothing refused was published");
    }

    @Test
    void aHeldPackageRequestAnswersWhenTheDevicesAdapterReadyCommitsAndOnlyItsFilesMayBeDownloaded() throws Exception {
        String version = db.version(), device = db.devices(1).get(0);
        assertTrue(gateway.awaitPackage(device, null, Duration.ZERO).get().isEmpty(), "nothing generated yet");
        CompletableFuture<Optional<DeviceGateway.Package>> held =
                gateway.awaitPackage(device, null, Duration.ofSeconds(20));
        assertFalse(held.isDone(), "held open until the package exists");

        String file = "c".repeat(64);
        CloudEvent ready = FleetEventsHandlerIT.event(
                EventTypes.ADAPTER_READY,
                device,
                new AdapterReady(
                        device,
                        "a-" + UUID.randomUUID(),
                        version,
                        "c-3bit",
                        3.125,
                        "b".repeat(64),
                        List.of(new Artifact("adapter", "adapter.safetensors", file, 1000, "/api/blobs/" + file)),
                        null));
        db.inTransaction(tx -> {
            handler.begin(List.of(ready), tx);
            handler.apply(ready, tx);
        });
        DeviceGateway.Package p = held.get(10, TimeUnit.SECONDS).orElseThrow();
        assertEquals(ready.id(), p.etag());
        assertEquals(
                file, p.adapterReady().path("artifacts").get(0).path("sha256").asText());

        // the same package again: nothing new, after the wait
        assertTrue(gateway.awaitPackage(device, p.etag(), Duration.ofMillis(200))
                .get(10, TimeUnit.SECONDS)
                .isEmpty());
        assertTrue(gateway.mayDownload(device, file));
        assertFalse(gateway.mayDownload(device, "d".repeat(64)), "a blob outside its package");
        assertFalse(gateway.mayDownload(db.devices(1).get(0), file), "another device's package");
        assertNull(gateway.currentPackage("no-such-device").orElse(null));
    }

    private static long outboxRows() throws Exception {
        return ((Number) db.value("select count(*) from outbox")).longValue();
    }

    private static ByteArrayInputStream body(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String device() {
        return "gw-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
