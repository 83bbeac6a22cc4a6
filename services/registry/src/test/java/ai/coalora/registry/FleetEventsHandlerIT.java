package ai.coalora.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.DeviceStatus;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.planning.QualityMeasure;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the registry records from each fleet event, applied by its handler inside a transaction against a real
 * PostgreSQL with the registry's migrations (no broker), and the events it refuses: unknown versions and types.
 */
class FleetEventsHandlerIT {
    static RegistryTestDatabase db;
    static FleetEventsHandler handler;

    @BeforeAll
    static void start() throws Exception {
        db = RegistryTestDatabase.start();
        RegistryMetrics metrics = new RegistryMetrics(db.dataSource, new SimpleMeterRegistry());
        handler = new FleetEventsHandler(new RetrainingMonitor(0.05, 3, 0.5, 3, metrics), metrics, device -> {});
    }

    @AfterAll
    static void stop() {
        if (db != null) db.close();
    }

    @Test
    void capabilitiesCreateTheDeviceAndALaterAnnouncementReplacesThem() throws Exception {
        String device = "dev-" + UUID.randomUUID().toString().substring(0, 8);
        CloudEvent first = event(
                EventTypes.CAPABILITIES,
                device,
                new DeviceCapabilities(
                        device, 1L << 30, List.of(4, 8), List.of("coalora-packed"), "phone", 0L, Map.of()));
        apply(first);
        assertEquals(first.id(), db.value("select capabilities_event_id from devices where device_id = ?", device));
        CloudEvent second = event(
                EventTypes.CAPABILITIES,
                device,
                new DeviceCapabilities(
                        device, 2L << 30, List.of(4), List.of("coalora-packed"), "laptop", 0L, Map.of()));
        apply(second);
        assertEquals(second.id(), db.value("select capabilities_event_id from devices where device_id = ?", device));
        assertEquals(
                "laptop", db.value("select capabilities->>'computeClass' from devices where device_id = ?", device));
        assertEquals(1L, ((Number) db.value("select count(*) from devices where device_id = ?", device)).longValue());
    }

    @Test
    void anAssignmentIsKeptInHistoryAndBecomesTheDevicesCurrentOne() throws Exception {
        String version = db.version(), device = db.devices(1).get(0);
        apply(event(EventTypes.ASSIGNMENT, device, assignment(device, "a-1", version, "c-3bit", 3.0, 0.91)));
        apply(event(EventTypes.ASSIGNMENT, device, assignment(device, "a-2", version, "c-4bit", 4.0, 0.93)));
        assertEquals(
                2L, ((Number) db.value("select count(*) from assignments where device_id = ?", device)).longValue());
        assertEquals("a-2", db.value("select assignment_id from devices where device_id = ?", device));
        assertEquals("c-4bit", db.value("select config_id from devices where device_id = ?", device));
        assertEquals(
                0.93,
                ((Number) db.value("select predicted_quality from devices where device_id = ?", device)).doubleValue(),
                1e-12);
    }

    @Test
    void statusAdapterAndTelemetryRecordWhatTheDeviceRunsAndMeasured() throws Exception {
        String version = db.version(), device = db.devices(1).get(0), pkg = "b".repeat(64);
        apply(event(
                EventTypes.ADAPTER_READY,
                device,
                new AdapterReady(
                        device,
                        "a-1",
                        version,
                        "c-3bit",
                        3.125,
                        pkg,
                        List.of(new Artifact(
                                "adapter",
                                "adapter.safetensors",
                                "c".repeat(64),
                                1000,
                                "/api/blobs/" + "c".repeat(64))),
                        null)));
        assertEquals(pkg, db.value("select package_sha256 from devices where device_id = ?", device));
        assertEquals(
                3.125,
                ((Number) db.value("select average_bits from adapters where package_sha256 = ?", pkg)).doubleValue(),
                1e-12);

        apply(event(
                EventTypes.DEVICE_STATUS,
                device,
                new DeviceStatus(device, "a-1", version, "c-3bit", pkg, DeviceStatus.APPLIED, "ok", Instant.now())));
        assertEquals("applied", db.value("select update_status from devices where device_id = ?", device));
        assertEquals(version, db.value("select update_version from devices where device_id = ?", device));

        apply(event(
                EventTypes.TELEMETRY,
                device,
                EvaluationTelemetry.accuracy(
                        device, version, "c-3bit", pkg, 0.875, 200, 3.5, 90_000_000L, Instant.now())));
        assertEquals(1L, ((Number) db.value("select count(*) from telemetry where device_id = ?", device)).longValue());
        assertEquals(
                0.875,
                ((Number) db.value("select telemetry_quality from devices where device_id = ?", device)).doubleValue(),
                1e-12);
        assertEquals(
                3.125,
                ((Number) db.value("select telemetry_average_bits from devices where device_id = ?", device))
                        .doubleValue(),
                1e-12,
                "measured at its package's exact average bits");
    }

    @Test
    void eventsNamingAnUnregisteredVersionOrAnUnknownTypeAreRefusedAndWriteNothing() throws Exception {
        String device = db.devices(1).get(0), forged = "f".repeat(64);
        RejectedEvent e = assertThrows(
                RejectedEvent.class,
                () -> apply(
                        event(EventTypes.ASSIGNMENT, device, assignment(device, "a-forged", forged, "c", 2.5, 0.99))));
        assertTrue(e.getMessage().contains("not registered"), e.getMessage());
        assertNull(db.value("select assignment_id from assignments where assignment_id = 'a-forged'"));
        assertThrows(
                RejectedEvent.class,
                () -> apply(event(
                        EventTypes.TELEMETRY,
                        device,
                        EvaluationTelemetry.accuracy(
                                device, forged, "c", "0".repeat(64), 0.1, 10, 1, 1, Instant.now()))));
        assertEquals(0L, ((Number) db.value("select count(*) from telemetry where device_id = ?", device)).longValue());
        assertThrows(
                RejectedEvent.class,
                () -> apply(event(
                        EventTypes.DEVICE_TARGET,
                        device,
                        new Payloads.DeviceTarget(device, null, null, null, "not the registry's to record", null))));
    }

    @Test
    void telemetryAndAssignmentsInAnotherMeasureThanTheirVersionAreRefusedAndWriteNothing() throws Exception {
        String decoder = db.version(QualityMeasure.PERPLEXITY),
                device = db.devices(1).get(0);
        String pkg = "d".repeat(64);
        // an accuracy measured on a decoder version would be compared with a perplexity
        RejectedEvent e = assertThrows(
                RejectedEvent.class,
                () -> apply(event(
                        EventTypes.TELEMETRY,
                        device,
                        EvaluationTelemetry.accuracy(device, decoder, "c", pkg, 0.9, 10, 1, 1, Instant.now()))));
        assertTrue(
                e.getMessage().contains("is in accuracy, but version " + decoder + " predicts perplexity"),
                e.getMessage());
        assertEquals(0L, ((Number) db.value("select count(*) from telemetry where device_id = ?", device)).longValue());
        assertThrows(
                RejectedEvent.class,
                () -> apply(event(EventTypes.ASSIGNMENT, device, assignment(device, "a-ppl", decoder, "c", 4.0, 0.9))));
        assertNull(db.value("select assignment_id from assignments where assignment_id = 'a-ppl'"));

        // perplexity telemetry on it is recorded with its tokens per second, and is the device's latest quality
        apply(event(
                EventTypes.TELEMETRY,
                device,
                new EvaluationTelemetry(
                        device,
                        decoder,
                        "c",
                        pkg,
                        QualityMeasure.PERPLEXITY,
                        91.5,
                        4096,
                        2.5,
                        80_000_000L,
                        Instant.now(),
                        38.5)));
        assertEquals(
                91.5,
                ((Number) db.value("select quality from telemetry where device_id = ?", device)).doubleValue(),
                1e-12);
        assertEquals(
                38.5,
                ((Number) db.value("select tokens_per_second from telemetry where device_id = ?", device))
                        .doubleValue(),
                1e-12);
        assertEquals("perplexity", db.value("select telemetry_measure from devices where device_id = ?", device));
    }

    @Test
    void anIntegerBeyondALongIsRefusedByTheSchemaAndByTheHandlerAndWritesNothing() throws Exception {
        String device = "dev-" + UUID.randomUUID().toString().substring(0, 8);
        ObjectNode data = (ObjectNode) Payloads.toJson(new DeviceCapabilities(
                device, 1L << 30, List.of(4, 8), List.of("coalora-packed"), "mid", 0L, Map.of()));
        data.put("memoryBytes", new BigInteger("100000000000000000000000")); // an integer, beyond a long
        assertEquals(
                List.of("memoryBytes: must have a maximum value of 1125899906842624"),
                ServiceRuntime.schemas().validate(EventTypes.CAPABILITIES, data));
        // and should such data reach the handler anyway, it is rejected, not thrown
        RejectedEvent e = assertThrows(
                RejectedEvent.class,
                () -> apply(CloudEvent.create("/test", EventTypes.CAPABILITIES, device, null, data)));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());
        assertNull(db.value("select device_id from devices where device_id = ?", device));
    }

    @Test
    void anOlderEventDeliveredLateDoesNotOverwriteNewerState() throws Exception {
        String version = db.version(),
                device = "late-" + UUID.randomUUID().toString().substring(0, 8);
        Instant t = Instant.now();
        CloudEvent older = at(
                event(
                        EventTypes.CAPABILITIES,
                        device,
                        new DeviceCapabilities(
                                device, 1L << 30, List.of(4, 8), List.of("coalora-packed"), "mid", 0L, Map.of())),
                t);
        CloudEvent newer = at(
                event(
                        EventTypes.CAPABILITIES,
                        device,
                        new DeviceCapabilities(
                                device, 2L << 30, List.of(4, 8), List.of("coalora-packed"), "mid", 0L, Map.of())),
                t.plusSeconds(1));
        apply(newer);
        apply(older); // re-sent after an outage, behind the newer one
        assertEquals(newer.id(), db.value("select capabilities_event_id from devices where device_id = ?", device));

        String pkg = "b".repeat(64);
        CloudEvent applied = at(
                event(
                        EventTypes.DEVICE_STATUS,
                        device,
                        new DeviceStatus(
                                device, "a-1", version, "c", pkg, DeviceStatus.APPLIED, "ok", t.plusSeconds(5))),
                t.plusSeconds(5));
        CloudEvent rejected = at(
                event(
                        EventTypes.DEVICE_STATUS,
                        device,
                        new DeviceStatus(
                                device, "a-1", version, "c", pkg, DeviceStatus.REJECTED, "bad", t.plusSeconds(2))),
                t.plusSeconds(2));
        apply(applied);
        apply(rejected);
        assertEquals("applied", db.value("select update_status from devices where device_id = ?", device));
    }

    /** The event as its producer stamped it at {@code time}. */
    static CloudEvent at(CloudEvent e, Instant time) {
        return new CloudEvent(e.id(), e.source(), e.type(), time, e.subject(), e.dataschema(), e.data());
    }

    static Assignment assignment(
            String device, String id, String version, String config, double bits, double predicted) {
        return new Assignment(
                device,
                id,
                "caps-1",
                true,
                "best within budget",
                version,
                "production",
                config,
                bits,
                QualityMeasure.ACCURACY,
                predicted,
                "coalora-packed",
                null,
                null,
                null);
    }

    static CloudEvent event(String type, String subject, Object payload) {
        return CloudEvent.create("/test", type, subject, null, Payloads.toJson(payload));
    }

    static void apply(CloudEvent event) throws Exception {
        db.inTransaction(
                tx -> { // as the event processor applies it: the batch's locks first
                    handler.begin(List.of(event), tx);
                    handler.apply(event, tx);
                });
    }
}
