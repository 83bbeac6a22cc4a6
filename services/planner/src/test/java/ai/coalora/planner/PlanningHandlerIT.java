package ai.coalora.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.DeviceTarget;
import ai.coalora.fleet.events.Payloads.FileRef;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.events.Payloads.ModelRegistered;
import ai.coalora.fleet.infra.TestDatabase;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.planning.QualityMeasure;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The planner's decisions, applied by {@link PlanningHandler} event by event inside a transaction against a real
 * PostgreSQL with the planner's migrations (no broker): what it keeps in its tables, and the assignments it leaves
 * in the outbox, read back with SQL. Every event sent here passes its JSON Schema, as the event processor checks
 * before a handler sees it.
 */
class PlanningHandlerIT {
    static final String ALIAS = "production";
    static final long MB = 1_000_000L;
    // a front of three configurations: the more bits, the more accurate and the larger
    static final FrontEntry EIGHT = entry(8, 0.95, 800 * MB),
            FOUR = entry(4, 0.93, 400 * MB),
            THREE = entry(3, 0.90, 300 * MB);
    static final List<FrontEntry> FRONT = List.of(THREE, FOUR, EIGHT);

    static TestDatabase db;

    /**
     * What the registry has recorded (its alias moves and registered fronts), which the planner reads instead of an
     * event's copy; the test's promotions and registrations record themselves here first, as the registry does before
     * it announces them.
     */
    static final Map<String, List<FrontEntry>> REGISTERED = new ConcurrentHashMap<>();

    static final Map<String, List<String>> MOVES = new ConcurrentHashMap<>();

    static final FrontSource REGISTRY = new FrontSource() {
        @Override
        public Optional<Alias> alias(String alias) {
            List<String> moves = MOVES.get(alias);
            return moves == null || moves.isEmpty()
                    ? Optional.empty()
                    : Optional.of(new Alias(moves.get(moves.size() - 1), new LinkedHashSet<>(moves)));
        }

        @Override
        public Optional<List<FrontEntry>> front(String modelVersion) {
            return Optional.ofNullable(REGISTERED.get(modelVersion));
        }
    };
    SimpleMeterRegistry meters;
    PlanningHandler handler;

    @BeforeAll
    static void start() throws Exception {
        db = TestDatabase.start("planner", "classpath:db/messaging", "classpath:db/planner");
    }

    @AfterAll
    static void stop() {
        if (db != null) db.close();
    }

    /** A planner that has seen nothing, on empty tables: a promotion re-plans every device in the table. */
    @BeforeEach
    void freshPlanner() throws Exception {
        db.exec("truncate devices, fronts, versions, outbox, inbox");
        REGISTERED.clear();
        MOVES.clear();
        meters = new SimpleMeterRegistry();
        handler = new PlanningHandler(ALIAS, null, REGISTRY, meters);
    }

    @Test
    void aDeviceWaitsForTheFirstFrontAndThePromotionPlansIt() throws Exception {
        String device = device();
        CloudEvent caps = capabilities(device, 1L << 30, List.of(4, 8));
        apply(caps);
        assertEquals(caps.id(), db.value("select capabilities_event_id from devices where device_id = ?", device));
        assertNull(db.value("select feasible from devices where device_id = ?", device), "no front: no decision");
        assertEquals(0, db.count("select count(*) from outbox"), "nothing to send before a front");
        assertEquals(0, handler.decisions());

        String version = version();
        apply(promoted(version, FRONT));
        List<JsonNode> sent = assignments(device);
        assertEquals(1, sent.size());
        JsonNode a = sent.get(0);
        assertTrue(a.get("feasible").asBoolean());
        assertEquals(
                EIGHT.configId(),
                a.get("configId").asText(),
                "the most accurate configuration that fits 1 GiB and 4/8 bits");
        assertEquals(version, a.get("modelVersion").asText());
        assertEquals(ALIAS, a.get("alias").asText());
        assertEquals(caps.id(), a.get("capabilitiesEventId").asText());
        assertEquals(801 * MB, a.get("footprint").get("totalBytes").asLong());
        assertEquals(
                EventTypes.ASSIGNMENT, db.value("select headers->>'ce_type' from outbox where record_key = ?", device));
        assertEquals(
                a.get("assignmentId").asText(),
                db.value("select headers->>'ce_id' from outbox where record_key = ?", device),
                "the event id is the assignment id");
        // the decision is kept: what a later event compares against
        assertEquals(Boolean.TRUE, db.value("select feasible from devices where device_id = ?", device));
        assertEquals(version, db.value("select model_version from devices where device_id = ?", device));
        assertEquals(EIGHT.configId(), db.value("select config_id from devices where device_id = ?", device));
        assertEquals(
                a.get("assignmentId").asText(),
                db.value("select assignment_id from devices where device_id = ?", device));
        assertEquals(version, db.value("select model_version from fronts where alias = ?", ALIAS));
        assertEquals(
                1.0,
                meters.counter("coalora.planner.decisions", "outcome", "feasible")
                        .count(),
                "counted once committed");
    }

    @Test
    void aDecoderFrontPlansLlamaCppDevicesByPerplexityAndTheAssignmentSaysSo() throws Exception {
        // perplexity falls with bits: the 8-bit entry is the best that fits, as accuracy would pick it, but by the
        // lower value; a device running only the packed layout gets nothing from a decoder front
        FrontEntry two = decoderEntry(2, 140.0, 200 * MB), four = decoderEntry(4, 96.0, 400 * MB);
        FrontEntry eight = decoderEntry(8, 90.0, 800 * MB);
        String phone = device(), laptop = device(), java = device();
        apply(event(
                EventTypes.CAPABILITIES,
                phone,
                new DeviceCapabilities(phone, 500 * MB, List.of(2, 4, 8), List.of("gguf"), "low", 0L, Map.of())));
        apply(event(
                EventTypes.CAPABILITIES,
                laptop,
                new DeviceCapabilities(laptop, 1L << 30, List.of(2, 4, 8), List.of("gguf"), "high", 0L, Map.of())));
        apply(capabilities(java, 1L << 30, List.of(2, 4, 8)));
        apply(promoted(version(), List.of(two, four, eight)));

        JsonNode p = assignments(phone).get(0), l = assignments(laptop).get(0);
        assertEquals(four.configId(), p.get("configId").asText(), "the lowest perplexity within 500 MB");
        assertEquals(eight.configId(), l.get("configId").asText());
        for (JsonNode a : List.of(p, l)) {
            assertEquals("perplexity", a.get("measure").asText());
            assertEquals("gguf", a.get("runtimeFormat").asText());
            assertFalse(a.has("predictedAccuracy"), "a perplexity is not an accuracy: " + a);
            assertTrue(a.get("reason").asText().contains("predicted perplexity"), a.toString());
        }
        assertEquals(96.0, p.get("predicted").asDouble(), 1e-12);
        assertFalse(assignments(java).get(0).get("feasible").asBoolean(), "a decoder runs on llama.cpp only");
    }

    static FrontEntry decoderEntry(int bits, double perplexity, long weightBytes) {
        return new FrontEntry(
                sha(),
                bits,
                QualityMeasure.PERPLEXITY,
                perplexity,
                List.of(bits),
                List.of("gguf"),
                weightBytes,
                MB,
                null);
    }

    @Test
    void anAssignmentIsPublishedOnlyWhenTheDecisionChanges() throws Exception {
        String device = device(), version = version();
        apply(promoted(version, FRONT));
        apply(capabilities(device, 1L << 30, List.of(4, 8)));
        assertEquals(List.of(EIGHT.configId()), configIds(device));

        // the same capabilities again, other labels, the same promotion again: decided again, the same decision,
        // nothing sent
        apply(capabilities(device, 1L << 30, List.of(4, 8)));
        apply(capabilities(device, 1L << 30, List.of(4, 8), Map.of("site", "berlin")));
        apply(promoted(version, FRONT));
        assertEquals(List.of(EIGHT.configId()), configIds(device));
        assertEquals(4, handler.decisions(), "every event decided again");

        // less memory: the 8-bit configuration no longer fits, the 4-bit one is sent
        apply(capabilities(device, 600 * MB, List.of(4, 8)));
        assertEquals(List.of(EIGHT.configId(), FOUR.configId()), configIds(device));
        assertEquals(FOUR.configId(), db.value("select config_id from devices where device_id = ?", device));

        // a new version with the same configurations: the version changed, so the decision did
        String second = version();
        apply(promoted(second, FRONT));
        List<JsonNode> sent = assignments(device);
        assertEquals(3, sent.size());
        assertEquals(second, sent.get(2).get("modelVersion").asText());
        assertEquals(FOUR.configId(), sent.get(2).get("configId").asText());
        assertEquals(
                3,
                sent.stream()
                        .map(a -> a.get("assignmentId").asText())
                        .distinct()
                        .count(),
                "one id per cause");
        assertEquals(
                6.0,
                meters.counter("coalora.planner.decisions", "outcome", "feasible")
                        .count());
    }

    @Test
    void aPromotionReplansEveryDeviceThatFollowsTheAliasOnce() throws Exception {
        List<String> devices = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            devices.add(device());
            apply(capabilities(devices.get(i), (i + 1) * 350 * MB, List.of(3, 4, 8)));
        }
        apply(promoted(version(), FRONT));
        assertEquals(List.of(THREE.configId()), configIds(devices.get(0)), "350 MB: only the 3-bit configuration fits");
        assertEquals(List.of(FOUR.configId()), configIds(devices.get(1)), "700 MB: the 4-bit one");
        assertEquals(List.of(EIGHT.configId()), configIds(devices.get(2)), "1050 MB: the 8-bit one");
        assertEquals(3, db.count("select count(*) from outbox"));

        // a front where the 3-bit configuration is now the most accurate: every device moves to it, each once
        FrontEntry better = new FrontEntry(
                THREE.configId(),
                3.0,
                QualityMeasure.ACCURACY,
                0.97,
                List.of(3),
                List.of("coalora-packed"),
                300 * MB,
                MB,
                null);
        String second = version();
        apply(promoted(second, List.of(better, FOUR, EIGHT)));
        for (String d : devices) {
            List<JsonNode> sent = assignments(d);
            assertEquals(2, sent.size(), d);
            assertEquals(THREE.configId(), sent.get(1).get("configId").asText());
            assertEquals(second, sent.get(1).get("modelVersion").asText());
        }
        assertEquals(6, db.count("select count(*) from outbox"));
    }

    @Test
    void aDeviceThatFitsNothingGetsAnExplicitInfeasibleAssignmentOnce() throws Exception {
        String small = device(), twoBit = device(), version = version();
        apply(promoted(version, FRONT));
        apply(capabilities(small, 100 * MB, List.of(3, 4, 8)));
        apply(capabilities(twoBit, 1L << 30, List.of(2)));
        for (String d : List.of(small, twoBit)) {
            List<JsonNode> sent = assignments(d);
            assertEquals(1, sent.size(), d);
            assertFalse(sent.get(0).get("feasible").asBoolean());
            assertFalse(sent.get(0).has("configId"), "no configuration: " + sent.get(0));
            assertEquals(version, sent.get(0).get("modelVersion").asText());
            assertEquals(Boolean.FALSE, db.value("select feasible from devices where device_id = ?", d));
            assertNull(db.value("select config_id from devices where device_id = ?", d));
        }
        String tooSmall = assignments(small).get(0).get("reason").asText();
        assertTrue(
                tooSmall.startsWith("no feasible configuration") && tooSmall.contains("3 too large for its memory"),
                tooSmall);
        String bits = assignments(twoBit).get(0).get("reason").asText();
        assertTrue(bits.contains("3 use unsupported bit-widths") && bits.contains("[2]"), bits);
        assertEquals(
                2.0,
                meters.counter("coalora.planner.decisions", "outcome", "infeasible")
                        .count());

        // infeasible again is the same decision; enough memory later is a new one
        apply(capabilities(small, 100 * MB, List.of(3, 4, 8)));
        assertEquals(1, assignments(small).size());
        apply(capabilities(small, 350 * MB, List.of(3, 4, 8)));
        assertEquals(2, assignments(small).size());
        assertTrue(assignments(small).get(1).get("feasible").asBoolean());
        assertEquals(THREE.configId(), assignments(small).get(1).get("configId").asText());
    }

    @Test
    void aRolloutTargetOverridesTheAliasUntilItIsCleared() throws Exception {
        String device = device(), other = device(), production = version(), canary = version(), rollout = "r-" + device;
        apply(promoted(production, FRONT));
        apply(capabilities(device, 1L << 30, List.of(4, 8)));
        apply(capabilities(other, 1L << 30, List.of(4, 8)));

        // the targeted version's front: only a 4-bit configuration
        FrontEntry canaryFour = entry(4, 0.94, 400 * MB);
        apply(registered(canary, List.of(canaryFour)));
        assertEquals(
                1, assignments(device).size(), "a registered version alone changes nothing for devices on the alias");
        apply(target(device, canary, rollout, false));
        List<JsonNode> sent = assignments(device);
        assertEquals(2, sent.size());
        JsonNode onCanary = sent.get(1);
        assertEquals(canary, onCanary.get("modelVersion").asText());
        assertEquals(canaryFour.configId(), onCanary.get("configId").asText());
        assertEquals(rollout, onCanary.get("rolloutId").asText());
        assertFalse(onCanary.has("alias"), "a targeted assignment does not come through the alias: " + onCanary);
        assertEquals(canary, db.value("select target_version from devices where device_id = ?", device));

        // production moves: the device that follows it is re-planned, the targeted one stays on its target
        String production2 = version();
        apply(promoted(production2, FRONT));
        assertEquals(2, assignments(device).size());
        assertEquals(production2, assignments(other).get(1).get("modelVersion").asText());

        // a retry resends the unchanged decision; a target naming no version sends the device back to the alias
        apply(target(device, canary, rollout, true));
        assertEquals(3, assignments(device).size());
        assertEquals(
                canaryFour.configId(),
                assignments(device).get(2).get("configId").asText());
        apply(target(device, null, rollout, false));
        JsonNode back = assignments(device).get(3);
        assertEquals(production2, back.get("modelVersion").asText());
        assertEquals(EIGHT.configId(), back.get("configId").asText());
        assertEquals(ALIAS, back.get("alias").asText());
        assertNull(db.value("select target_version from devices where device_id = ?", device));
    }

    @Test
    void aTargetAtAVersionWhoseFrontIsUnknownWaitsForItsRegistration() throws Exception {
        String device = device(), later = version();
        apply(target(device, later, "r-1", false));
        assertNull(
                db.value("select capabilities from devices where device_id = ?", device),
                "a target may come before capabilities");
        apply(capabilities(device, 1L << 30, List.of(4, 8)));
        assertEquals(0, db.count("select count(*) from outbox"), "no front for the target yet");
        apply(registered(later, FRONT));
        assertEquals(List.of(EIGHT.configId()), configIds(device));
        assertEquals(later, assignments(device).get(0).get("modelVersion").asText());
        assertEquals(later, db.value("select model_version from versions where model_version = ?", later));
    }

    @Test
    void hostileEventsAreRejectedAndWriteNothing() throws Exception {
        apply(promoted(version(), FRONT));
        String victim = device(), attacker = device();
        apply(capabilities(victim, 1L << 30, List.of(4, 8)));
        long outboxBefore = db.count("select count(*) from outbox");

        // a device announcing capabilities in another device's name (schema-valid: only the subject gives it away)
        JsonNode claimed = Payloads.toJson(caps(victim, 100 * MB, List.of(2), Map.of()));
        CloudEvent forged = CloudEvent.create("/device/" + attacker, EventTypes.CAPABILITIES, attacker, null, claimed);
        assertEquals(List.of(), ServiceRuntime.schemas().validate(forged.type(), forged.data()));
        RejectedEvent e = assertThrows(RejectedEvent.class, () -> apply(forged));
        assertTrue(e.getMessage().contains("differs from data.deviceId"), e.getMessage());
        assertEquals(
                1L << 30,
                ((Number) db.value(
                                "select (capabilities->>'memoryBytes')::bigint from devices where device_id = ?",
                                victim))
                        .longValue(),
                "the victim's capabilities are untouched");
        assertNull(db.value("select device_id from devices where device_id = ?", attacker));

        // an event type the planner does not consume
        CloudEvent stray =
                CloudEvent.create("/test", EventTypes.ADAPTER_READY, victim, null, Payloads.JSON.createObjectNode());
        e = assertThrows(RejectedEvent.class, () -> apply(stray));
        assertTrue(e.getMessage().contains("does not handle"), e.getMessage());

        assertEquals(outboxBefore, db.count("select count(*) from outbox"), "nothing published");
        assertEquals(1, assignments(victim).size());
        assertEquals(1, db.count("select count(*) from devices"), "the victim alone");
    }

    @Test
    void dataThatDoesNotMapIsRejectedAndWritesNothing() throws Exception {
        apply(promoted(version(), FRONT));
        String device = device();
        // beyond a long: the schema's bound refuses it now; before the bound it passed and stalled the consumer
        ObjectNode huge = (ObjectNode) Payloads.toJson(caps(device, 1L << 30, List.of(4, 8), Map.of()));
        huge.put("memoryBytes", new BigInteger("100000000000000000000000"));
        assertFalse(
                ServiceRuntime.schemas().validate(EventTypes.CAPABILITIES, huge).isEmpty());
        RejectedEvent e = assertThrows(
                RejectedEvent.class,
                () -> apply(CloudEvent.create("/test", EventTypes.CAPABILITIES, device, null, huge)));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());

        // what fails its schema is dead-lettered before any handler; one that got here anyway is rejected too
        ObjectNode malformed = (ObjectNode) Payloads.toJson(caps(device, 1L << 30, List.of(4, 8), Map.of()));
        malformed.put("weightBits", "all of them");
        assertFalse(ServiceRuntime.schemas()
                .validate(EventTypes.CAPABILITIES, malformed)
                .isEmpty());
        assertThrows(
                RejectedEvent.class,
                () -> apply(CloudEvent.create("/test", EventTypes.CAPABILITIES, device, null, malformed)));
        ObjectNode target = (ObjectNode) Payloads.toJson(new DeviceTarget(device, null, null, 1, "wave 1", null));
        target.put("wave", new BigInteger("100000000000000000000"));
        assertEquals(
                List.of("wave: must have a maximum value of 1000000"),
                ServiceRuntime.schemas().validate(EventTypes.DEVICE_TARGET, target));
        assertThrows(
                RejectedEvent.class,
                () -> apply(CloudEvent.create("/test", EventTypes.DEVICE_TARGET, device, null, target)));

        assertNull(db.value("select device_id from devices where device_id = ?", device));
        assertEquals(0, db.count("select count(*) from outbox"));
        assertEquals(0, handler.decisions());
    }

    // ---- events ----

    /**
     * Two replicas share the tables: one takes promotions (which re-plan every device) while the other applies a steady
     * stream of capabilities. A capabilities event must not hold its device's row while waiting for the front lock a
     * promotion holds while it waits for that row: the database would abort one of them as a deadlock.
     */
    @Test
    void twoReplicasDuringPromotionsUnderSteadyCapabilitiesTrafficNeitherDeadlockNorFail() throws Exception {
        List<String> devices = new ArrayList<>();
        for (int i = 0; i < 40; i++) devices.add(device());
        for (String d : devices) apply(capabilities(d, 1L << 30, List.of(4, 8)));
        apply(promoted(version(), FRONT));
        PlanningHandler other = new PlanningHandler(ALIAS, null, REGISTRY, new SimpleMeterRegistry());
        List<String> promotedVersions = new ArrayList<>();
        for (int i = 0; i < 12; i++) promotedVersions.add(version());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?> promotions = pool.submit(() -> {
                for (String v : promotedVersions) apply(handler, promoted(v, FRONT));
                return null;
            });
            Future<?> traffic = pool.submit(() -> {
                for (int round = 0; round < 6; round++) {
                    for (String d : devices) {
                        apply(other, capabilities(d, (round % 2 == 0 ? 1L : 2L) << 30, List.of(4, 8)));
                    }
                }
                return null;
            });
            promotions.get(300, TimeUnit.SECONDS); // a deadlock the database detected surfaces here as 40P01
            traffic.get(300, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        String last = promotedVersions.get(promotedVersions.size() - 1);
        assertEquals(
                devices.size(),
                db.count(
                        "select count(*) from devices where model_version = ?",
                        last), // the tables hold only these devices
                "every device is planned on the last promotion, by whichever replica planned it last");
    }

    static String device() {
        return "dev-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static String version() {
        return sha();
    }

    static String sha() {
        return UUID.randomUUID().toString().replace("-", "")
                + UUID.randomUUID().toString().replace("-", "");
    }

    static FrontEntry entry(int bits, double accuracy, long weightBytes) {
        return new FrontEntry(
                sha(),
                bits,
                QualityMeasure.ACCURACY,
                accuracy,
                List.of(bits),
                List.of("coalora-packed"),
                weightBytes,
                MB,
                null);
    }

    static DeviceCapabilities caps(String device, long memory, List<Integer> bits, Map<String, String> labels) {
        return new DeviceCapabilities(device, memory, bits, List.of("coalora-packed"), "mid", 0L, labels);
    }

    static CloudEvent capabilities(String device, long memory, List<Integer> bits) {
        return capabilities(device, memory, bits, Map.of());
    }

    static CloudEvent capabilities(String device, long memory, List<Integer> bits, Map<String, String> labels) {
        return event(EventTypes.CAPABILITIES, device, caps(device, memory, bits, labels));
    }

    /** The registry moves the alias (recorded), then announces it. */
    static CloudEvent promoted(String version, List<FrontEntry> front) {
        REGISTERED.put(version, front);
        MOVES.computeIfAbsent(ALIAS, a -> new CopyOnWriteArrayList<>()).add(version);
        return event(
                EventTypes.MODEL_PROMOTED,
                ALIAS,
                new ModelPromoted(ALIAS, version, null, "test", "promoted by the test", front));
    }

    /** The registry registers the version (recorded), then announces it. */
    static CloudEvent registered(String version, List<FrontEntry> front) {
        REGISTERED.put(version, front);
        return registration(version, front);
    }

    /** A registration event, whatever the registry recorded. */
    static CloudEvent registration(String version, List<FrontEntry> front) {
        return event(
                EventTypes.MODEL_REGISTERED,
                version,
                new ModelRegistered(
                        version,
                        null,
                        "sentiment",
                        "test",
                        List.of(new FileRef("manifest.json", sha(), 10)),
                        front.size(),
                        Instant.now(),
                        null,
                        front));
    }

    static CloudEvent target(String device, String version, String rollout, boolean retry) {
        return event(EventTypes.DEVICE_TARGET, device, new DeviceTarget(device, version, rollout, 1, "wave 1", retry));
    }

    /** An event as the processor hands it over: its data passed the type's schema. */
    static CloudEvent event(String type, String subject, Object payload) {
        JsonNode data = Payloads.toJson(payload);
        assertEquals(List.of(), ServiceRuntime.schemas().validate(type, data), type);
        return CloudEvent.create("/test", type, subject, null, data);
    }

    void apply(CloudEvent event) throws Exception {
        apply(handler, event);
    }

    /** As the event processor applies an event: the batch's locks first, then the event, in one transaction. */
    static void apply(PlanningHandler replica, CloudEvent event) throws Exception {
        db.inTransaction(tx -> {
            replica.begin(List.of(event), tx);
            replica.apply(event, tx);
        });
    }

    @Test
    void aPromotionOrRegistrationTheRegistryHasNoRecordOfIsRefusedAndPlansNothing() throws Exception {
        String device = device();
        apply(capabilities(device, 1L << 30, List.of(4, 8)));
        String genuine = version();
        apply(promoted(genuine, FRONT));
        assertEquals(1, assignments(device).size());

        // a promotion of a version the alias never pointed at
        String other = version();
        REGISTERED.put(other, List.of(THREE));
        CloudEvent forged = event(
                EventTypes.MODEL_PROMOTED,
                ALIAS,
                new ModelPromoted(ALIAS, other, genuine, "mallory", "forged", List.of(THREE)));
        RejectedEvent e = assertThrows(RejectedEvent.class, () -> apply(forged));
        assertTrue(e.getMessage().contains("never pointed at"), e.getMessage());
        // the genuine move, with a front that is not the registry's
        CloudEvent altered = event(
                EventTypes.MODEL_PROMOTED,
                ALIAS,
                new ModelPromoted(ALIAS, genuine, null, "mallory", "altered", List.of(THREE)));
        e = assertThrows(RejectedEvent.class, () -> apply(altered));
        assertTrue(e.getMessage().contains("differs from the registry"), e.getMessage());
        // a registration of a version the registry does not have, and one with another front
        String unknown = version();
        CloudEvent stray = registration(unknown, List.of(THREE));
        e = assertThrows(RejectedEvent.class, () -> apply(stray));
        assertTrue(e.getMessage().contains("has no version"), e.getMessage());
        CloudEvent reshaped = registration(genuine, List.of(THREE));
        e = assertThrows(RejectedEvent.class, () -> apply(reshaped));
        assertTrue(e.getMessage().contains("differs from the registry"), e.getMessage());

        assertEquals(1, assignments(device).size(), "nothing re-planned");
        assertEquals(genuine, db.value("select model_version from fronts where alias = ?", ALIAS));
        assertEquals(0, db.count("select count(*) from versions where model_version = ?", unknown));
    }

    @Test
    void aLateEventOfAnEarlierMoveIsPlannedOnWhereTheAliasPointsNow() throws Exception {
        String device = device();
        apply(capabilities(device, 1L << 30, List.of(4, 8)));
        String first = version(), second = version();
        CloudEvent early = promoted(first, FRONT);
        apply(promoted(second, List.of(THREE, FOUR)));
        apply(early); // delivered late: the registry's alias already points at the second version
        assertEquals(second, db.value("select model_version from fronts where alias = ?", ALIAS));
        List<JsonNode> sent = assignments(device);
        assertEquals(second, sent.get(sent.size() - 1).get("modelVersion").asText());
        assertEquals(FOUR.configId(), sent.get(sent.size() - 1).get("configId").asText());
    }

    @Test
    void capabilitiesDeliveredLateBehindNewerOnesChangeNothing() throws Exception {
        String device = device();
        apply(promoted(version(), FRONT));
        Instant t = Instant.now();
        CloudEvent small = capabilities(device, 350 * MB, List.of(3, 4, 8)),
                large = capabilities(device, 1L << 30, List.of(4, 8));
        small = new CloudEvent(small.id(), small.source(), small.type(), t, small.subject(), null, small.data());
        large = new CloudEvent(
                large.id(), large.source(), large.type(), t.plusSeconds(1), large.subject(), null, large.data());
        apply(large);
        apply(small); // re-sent after an outage, behind the newer announcement
        List<JsonNode> sent = assignments(device);
        assertEquals(1, sent.size(), "the late, older announcement re-plans nothing");
        assertEquals(EIGHT.configId(), sent.get(0).get("configId").asText());
        assertEquals(large.id(), db.value("select capabilities_event_id from devices where device_id = ?", device));
    }

    // ---- what was published ----

    /** The assignments in the outbox for {@code device}, oldest first. */
    static List<JsonNode> assignments(String device) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (Object v : db.column(
                "select convert_from(value, 'UTF8') from outbox where topic = 'coalora.assignments' and record_key = ? "
                        + "order by seq",
                device)) {
            out.add(Payloads.JSON.readTree((String) v));
        }
        return out;
    }

    static List<String> configIds(String device) throws Exception {
        return assignments(device).stream()
                .map(a -> a.path("configId").asText(null))
                .toList();
    }
}
