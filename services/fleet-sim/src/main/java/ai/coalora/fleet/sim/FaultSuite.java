package ai.coalora.fleet.sim;

import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.security.PackageManifest;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The system under faults: a fleet of simulated devices on real Kafka and PostgreSQL and the four services as
 * processes, a staged rollout running while each service is killed with SIGKILL and restarted, the broker restarts
 * and stays down for 90 s, the database is away for 10 s, thousands of malformed, hostile and numerically extreme
 * events arrive, valid events are replayed, devices speak as others or with revoked tokens, forged fronts and
 * packages and unauthorized Kafka clients try their luck; then a promotion under two planner replicas, a rollout
 * through a download mirror that tampers with files, and an abort-revert racing status reports. After each fault it
 * measures: devices lost (known to the devices but missing from the registry or the planner), stale (the registry's
 * state not the planner's latest decision once nothing is in flight), duplicate assignments (assignments of a
 * rollout beyond the targets that caused them), the servers' HTTP 500 answers and PostgreSQL deadlocks, dead letters
 * with a reason vs hostile records sent (per consuming service), tampered files rejected by devices vs served,
 * requests refused vs tried, services ready, and whether a new device still gets planned.
 */
public final class FaultSuite {
    /** How big a run is. */
    public record Settings(int devices, int hostileEvents, int tamperEvery, long seed) {
        public static final Settings FULL = new Settings(300, 10_000, 3, 17);
        public static final Settings QUICK = new Settings(40, 1_000, 2, 17);
    }

    /** One fault and what it did; a null count is not applicable to the fault. */
    public record Row(
            String fault,
            double seconds,
            long devicesLost,
            long staleDevices,
            long duplicateAssignments,
            long http500s,
            long deadlocks,
            Long deadLettered,
            Long sent,
            Long tamperedRejected,
            Long tamperedServed,
            int servicesUp,
            boolean newDevicePlanned,
            Long refused,
            Long attempted,
            String refusedBecause) {}

    /** The whole run. */
    public record Report(
            List<Row> rows,
            int devices,
            String firstRolloutState,
            String secondRolloutState,
            long notOnPromoted,
            long secondPlannerDecisions,
            String revertState,
            long notReverted,
            Map<String, Long> serverErrors,
            long replayed,
            long replaysSkipped,
            long replaysDeadLettered,
            long deadLettersWithoutReason,
            double seconds) {

        /**
         * 0 lost, 0 duplicated, every hostile record dead-lettered and every impostor's or revoked device's request
         * refused (with a reason), every tampered file rejected, services up.
         */
        public boolean goalsMet() {
            for (Row r : rows) {
                if (r.devicesLost() != 0
                        || r.staleDevices() != 0
                        || r.duplicateAssignments() != 0
                        || r.http500s() != 0
                        || r.deadlocks() != 0
                        || r.servicesUp() != FleetStack.SERVICES.size()
                        || !r.newDevicePlanned()) return false;
                if (r.sent() != null && !r.sent().equals(r.deadLettered())) return false;
                if (r.tamperedServed() != null
                        && (!r.tamperedServed().equals(r.tamperedRejected()) || r.tamperedServed() == 0)) return false;
                if (r.attempted() != null && (!r.attempted().equals(r.refused()) || r.attempted() == 0)) return false;
            }
            return replaysSkipped >= replayed
                    && replaysDeadLettered == 0
                    && deadLettersWithoutReason == 0
                    && "succeeded".equals(firstRolloutState)
                    && "succeeded".equals(secondRolloutState)
                    && notOnPromoted == 0
                    && secondPlannerDecisions > 0
                    && "reverted".equals(revertState)
                    && notReverted == 0;
        }

        public String table() {
            StringBuilder t = new StringBuilder(String.format(
                    "%-50s %8s %8s %6s %10s %5s %9s %22s %20s %17s %9s %9s%n",
                    "fault",
                    "seconds",
                    "lost",
                    "stale",
                    "duplicates",
                    "500s",
                    "deadlocks",
                    "rejected / sent",
                    "tampered rej./served",
                    "refused / tried",
                    "services",
                    "planning"));
            for (Row r : rows) {
                t.append(String.format(
                        "%-50s %8.1f %8d %6d %10d %5d %9d %22s %20s %17s %9s %9s%n",
                        r.fault(),
                        r.seconds(),
                        r.devicesLost(),
                        r.staleDevices(),
                        r.duplicateAssignments(),
                        r.http500s(),
                        r.deadlocks(),
                        r.sent() == null
                                ? "-"
                                : r.deadLettered() + " / " + r.sent()
                                        + String.format(" (%.0f%%)", 100.0 * r.deadLettered() / Math.max(1, r.sent())),
                        r.tamperedServed() == null ? "-" : r.tamperedRejected() + " / " + r.tamperedServed(),
                        r.attempted() == null
                                ? "-"
                                : r.refused() + " / " + r.attempted()
                                        + String.format(" (%.0f%%)", 100.0 * r.refused() / Math.max(1, r.attempted())),
                        r.servicesUp() + "/" + FleetStack.SERVICES.size(),
                        r.newDevicePlanned() ? "works" : "STUCK"));
            }
            for (Row r : rows) {
                if (r.refusedBecause() != null)
                    t.append(r.fault()).append(": ").append(r.refusedBecause()).append('\n');
            }
            t.append(String.format(
                    "replayed events: %d sent again with their ids, %d skipped as duplicates by their consumers, %d dead-lettered%n",
                    replayed, replaysSkipped, replaysDeadLettered));
            t.append(String.format(
                    "dead letters without a reason: %d; rollouts: %s (under the faults), %s (through the tampering mirror)%n",
                    deadLettersWithoutReason, firstRolloutState, secondRolloutState));
            t.append(String.format(
                    "promotion under two planners: %d devices not on the promoted version, %d decisions by the second planner; "
                            + "abort-revert: %s, %d devices not back on their version%n",
                    notOnPromoted, secondPlannerDecisions, revertState, notReverted));
            t.append("HTTP 5xx answers (server side, /q aside): "
                    + (serverErrors.isEmpty() ? "none" : serverErrors.toString()) + "\n");
            t.append(String.format(
                    "%d devices, %.0f s; goals (0 lost, 0 duplicated, 100%% dead-lettered with a reason, 100%% rejected, 100%% of unauthorized writes refused, no 500, no deadlock, services up): %s%n",
                    devices, seconds, goalsMet() ? "MET" : "NOT MET"));
            return t.toString();
        }
    }

    private final Settings settings;
    private final Consumer<String> progress;
    private FleetStack stack;
    private FleetObserver observer;
    private ServerFailures failures;
    private long runStart, last500s, lastDeadlocks;
    private RegistryClient admin;
    private List<DeviceCapabilities> devices;
    private final List<Row> rows = new ArrayList<>();
    private FleetMeasures measures;
    private RolloutDriver rollouts;

    private FaultSuite(Settings settings, Consumer<String> progress) {
        this.settings = settings;
        this.progress = progress;
    }

    public static Report run(Path work, Settings settings, Consumer<String> progress) throws Exception {
        return new FaultSuite(settings, progress).run(work);
    }

    private Report run(Path work) throws Exception {
        long t0 = System.nanoTime();
        runStart = t0;
        Path bundle = FleetBundle.TEST.ensure(Progress.NONE);
        // retraining stays out of the way: the run is about faults, not about 20-sentence accuracy noise
        Map<String, String> env = Map.of("COALORA_RETRAINING_MARGIN", "0.9", "COALORA_COVERAGE_MIN_DEVICES", "1000000");
        try (FleetStack s = FleetStack.start(work, env, m -> progress.accept("  " + m));
                FleetObserver o = new FleetObserver(s.kafkaAdmin());
                ServerFailures f = new ServerFailures(s);
                TamperingMirror mirror = new TamperingMirror(s.registryUrl());
                KafkaProducer<String, byte[]> producer = SimulatedFleet.producer(s.kafkaAdmin())) {
            stack = s;
            observer = o;
            failures = f;
            admin = s.registry(FleetStack.ADMIN_USER);
            ModelPublisher.Published v1 =
                    ModelPublisher.registerAndPromote(admin, bundle, "production", "fault-suite", "version one");
            devices = SimulatedFleet.devices(settings.devices(), v1.front(), settings.seed());
            measures = new FleetMeasures(s, o, admin, devices);
            rollouts = new RolloutDriver(admin, measures, progress);
            Map<String, String> tokens =
                    s.enrol(devices.stream().map(DeviceCapabilities::deviceId).toList());
            try (DeviceAgents agents = new DeviceAgents(
                    s.gateway(),
                    s.rootKey(),
                    tokens,
                    devices.stream().map(DeviceCapabilities::deviceId).toList(),
                    Tasks.builtin("sentiment").test(),
                    20,
                    DeviceAgents.Faults.NONE,
                    settings.seed())) {
                agents.downloadVia(mirror.address());
                SimulatedFleet.announce(s.gateway(), tokens, devices);
                progress.accept(devices.size() + " devices announced; waiting for them to run version one");
                await(
                        () -> measures.settled() >= devices.size(),
                        Duration.ofMinutes(10),
                        "devices running version one");

                // rollout 1, under process, broker and database faults and hostile events
                ModelPublisher.Published v2 = ModelPublisher.register(
                        admin, ModelPublisher.variant(bundle, work.resolve("v2"), "2026-11-30T06:00:00Z"));
                String first = rollouts.start(v2.modelVersion());
                progress.accept("rollout " + first + " of version two started (4 waves)");
                for (String service : FleetStack.SERVICES) {
                    fault("kill -9 " + service + ", restart", () -> {
                        failures.sample(); // what it answered up to the kill
                        stack.crashAndRestart(service);
                    });
                }
                fault("restart the Kafka broker", () -> stack.restartKafka());
                // longer than the producers' delivery timeout (60 s): their batches expire and are re-sent
                fault("broker down 90 s under load", () -> stack.kafkaOutage(Duration.ofSeconds(90)));
                databaseOutage(tokens);
                hostile(producer);
                extremes(producer);
                unauthorized(
                        "devices speaking as others",
                        () -> UnauthorizedRequests.impostors(stack.gateway(), devices, tokens));
                unauthorized("revoked devices", () -> UnauthorizedRequests.revoked(stack, devices.get(0)));
                forgedFronts(producer, v1, v2);
                unauthorized(
                        "an unauthenticated Kafka client writing any topic",
                        () -> UnauthorizedWrites.unauthenticated(stack.kafka(FleetStack.SERVICES.get(0))));
                unauthorized(
                        "a service principal writing another service's topic",
                        () -> UnauthorizedWrites.crossService(principals()));
                // the devices' announcements exactly as the gateway published them (same ids), sent again
                Set<String> simulated = new HashSet<>(
                        devices.stream().map(DeviceCapabilities::deviceId).toList());
                List<CloudEvent> announced = observer.capabilities().stream()
                        .filter(e -> GatewayClient.EVENT_SOURCE.equals(e.source()) && simulated.contains(e.subject()))
                        .toList();
                long replayed = announced.size() * 2L; // each capabilities event has two consumers
                long skippedBefore = measures.duplicates("planner") + measures.duplicates("registry");
                for (CloudEvent e : announced) {
                    producer.send(new ProducerRecord<>(
                            Topic.CAPABILITIES.name(),
                            null,
                            e.subject(),
                            KafkaCloudEvents.value(e),
                            KafkaCloudEvents.headers(e)));
                }
                producer.flush();
                await(
                        () -> measures.duplicates("planner") + measures.duplicates("registry") - skippedBefore
                                >= replayed,
                        Duration.ofMinutes(3),
                        "replays skipped");
                long replaysSkipped = measures.duplicates("planner") + measures.duplicates("registry") - skippedBefore;
                Set<String> ids = new HashSet<>(
                        devices.stream().map(DeviceCapabilities::deviceId).toList());
                long replaysDeadLettered = observer.deadLetters().stream()
                        .filter(d -> ids.contains(d.key()))
                        .count();
                String firstState = rollouts.finish(first, Duration.ofMinutes(10));
                Promotion promotion = replicasDuringPromotion(bundle, work, tokens);

                // rollout 2, back to version one, downloaded again through a mirror that tampers with some files
                agents.forgetDownloads();
                long rejectedBefore = agents.artifactsRejected(), tamperedBefore = mirror.tampered();
                mirror.tamperEvery(settings.tamperEvery());
                long f0 = System.nanoTime();
                String second = rollouts.start(v1.modelVersion());
                progress.accept("rollout " + second + " back to version one, through a mirror tampering with every "
                        + settings.tamperEvery() + "th file");
                // tamper until every device of the rollout has downloaded (applied or rejected), then stop and retry
                await(
                        () -> {
                            JsonNode r = measures.get("api/rollouts/" + second);
                            return r != null && !r.get("state").asText().equals("running")
                                    || agents.artifactsRejected() - rejectedBefore >= 3
                                            && mirror.served() > 0
                                            && RolloutDriver.waveSettled(r);
                        },
                        Duration.ofMinutes(5),
                        "tampered downloads");
                mirror.tamperEvery(0);
                String secondState = rollouts.finish(second, Duration.ofMinutes(10));
                rows.add(row(
                        "tampering mirror (rollout 2)",
                        f0,
                        null,
                        null,
                        agents.artifactsRejected() - rejectedBefore,
                        mirror.tampered() - tamperedBefore));
                Revert revert = abortRevertRacingStatus(v2.modelVersion(), agents);
                forgedPackages(producer, agents);
                rows.add(row("end of run", t0, null, null, null, null));
                long withoutReason = observer.deadLetters().stream()
                        .filter(d -> d.reason() == null || d.reason().isBlank())
                        .count();
                return new Report(
                        List.copyOf(rows),
                        devices.size(),
                        firstState,
                        secondState,
                        promotion.notOnPromoted(),
                        promotion.secondPlannerDecisions(),
                        revert.state(),
                        revert.notReverted(),
                        failures.serverErrors(),
                        replayed,
                        replaysSkipped,
                        replaysDeadLettered,
                        withoutReason,
                        (System.nanoTime() - t0) / 1e9);
            }
        }
    }

    /**
     * Two planner replicas during a promotion: a second planner process joins the first (the capabilities and targets
     * partitions split between them) and the followed alias moves to a new version while every device announces its
     * capabilities again and again. The replica that gets the promotion re-plans the fleet while the other plans the
     * devices whose announcements and released pins it consumes, on the same rows.
     */
    private Promotion replicasDuringPromotion(Path bundle, Path work, Map<String, String> tokens) throws Exception {
        String name = "two planner replicas during a promotion";
        progress.accept(name);
        long t = System.nanoTime();
        Set<String> before = measures.running().keySet();
        String v3 = ModelPublisher.register(
                        admin, ModelPublisher.variant(bundle, work.resolve("v3"), "2026-12-01T06:00:00Z"))
                .modelVersion();
        AtomicLong announced = new AtomicLong();
        long decisions;
        GatewayClient gateway = stack.gateway();
        try (ServiceProcess second = stack.startReplica("planner");
                Repeating announcing = new Repeating("announcing", () -> {
                    for (DeviceCapabilities d : devices) {
                        gateway.capabilities(tokens.get(d.deviceId()), d);
                        announced.incrementAndGet();
                    }
                })) {
            progress.accept("  a second planner is ready (" + second.url() + "); promoting " + v3);
            admin.sendJson(
                    "PUT",
                    "api/aliases/production",
                    Map.of("modelVersion", v3, "actor", "fault-suite", "reason", "promotion under two planners"));
            await(() -> measures.notOn(before, v3) == 0, Duration.ofMinutes(5), "devices running the promoted version");
            progress.accept("  " + announced.get() + " announcements during the promotion, " + announcing.failures()
                    + " not taken");
            // the second planner took part: it made decisions of its own
            decisions = (long) PrometheusScrape.fetch(second.url()).sum("coalora_planner_decisions_total", Map.of());
        }
        Promotion p = new Promotion(measures.notOn(before, v3), decisions);
        rows.add(row(name, t, null, null, null, null));
        return p;
    }

    /** How the promotion under two planners ended: devices not on the promoted version, the second one's decisions. */
    record Promotion(long notOnPromoted, long secondPlannerDecisions) {}

    /** How the abort-revert row ended: the rollout's state and the devices not back on what they ran before. */
    record Revert(String state, long notReverted) {}

    /**
     * An abort-revert racing status events: a one-wave rollout of every running device to {@code version} is aborted
     * with a revert once a quarter of the devices applied it and the rest are still at it, while every device sends
     * its last status report again and again (as after reconnecting). The revert must bring every device back to what
     * it ran before.
     */
    private Revert abortRevertRacingStatus(String version, DeviceAgents agents) throws Exception {
        String name = "an abort-revert racing status events";
        progress.accept(name);
        long t = System.nanoTime();
        Map<String, String> before = measures.running();
        String id = rollouts.start(version, List.of(1.0));
        AtomicLong resent = new AtomicLong();
        String state;
        try (Repeating racing =
                new Repeating("reporting again", () -> resent.addAndGet(agents.reportAgain(before.keySet())))) {
            await(
                    () -> RolloutDriver.currentWave(measures.get("api/rollouts/" + id))
                                    .path("finished")
                                    .asInt()
                            >= Math.max(1, before.size() / 4),
                    Duration.ofMinutes(5),
                    "a quarter of the devices updated");
            JsonNode at = RolloutDriver.currentWave(measures.get("api/rollouts/" + id));
            progress.accept("  aborting with a revert at " + at.path("finished").asInt() + " of "
                    + at.path("devices").asInt() + " devices updated");
            admin.sendJson(
                    "POST",
                    "api/rollouts/" + id + "/abort",
                    Map.of("mode", "revert", "reason", "fault suite: abort-revert racing status events"));
            await(
                    () -> {
                        JsonNode r = measures.get("api/rollouts/" + id);
                        return r != null && r.get("state").asText().equals("reverted");
                    },
                    Duration.ofMinutes(5),
                    "the revert");
            await(() -> measures.notBack(before) == 0, Duration.ofMinutes(3), "devices back on their version");
            JsonNode r = measures.get("api/rollouts/" + id);
            state = r == null ? "unknown" : r.get("state").asText();
        }
        progress.accept(
                "  rollout " + id + ": " + state + "; " + resent.get() + " status reports sent again meanwhile");
        long notReverted = measures.notBack(before);
        rows.add(row(name, t, null, null, null, null));
        return new Revert(state, notReverted);
    }

    interface Fault {
        void inject() throws Exception;
    }

    private void fault(String name, Fault f) throws Exception {
        progress.accept(name);
        long t = System.nanoTime();
        f.inject();
        rows.add(row(name, t, null, null, null, null));
    }

    /**
     * PostgreSQL away for 10 s, then started again: meanwhile an operator asks for the fleet's summary and a device
     * posts its capabilities, every half second. Each must be answered 503 with Retry-After (the request changed
     * nothing; send it again), never 500.
     */
    private void databaseOutage(Map<String, String> tokens) throws Exception {
        String name = "PostgreSQL down 10 s, then restarted";
        progress.accept(name);
        long t = System.nanoTime();
        failures.sample(); // what the services answered up to the outage
        DeviceCapabilities device = devices.get(0);
        GatewayClient gateway = stack.gateway();
        List<UnauthorizedRequests.Request> requests = List.of(
                () -> admin.getJson("api/fleet/summary"),
                () -> gateway.capabilities(tokens.get(device.deviceId()), device));
        Map<String, Long> answers = new TreeMap<>();
        stack.databaseOutage(() -> {
            Thread.sleep(1000); // the pools notice
            for (long end = System.nanoTime() + Duration.ofSeconds(9).toNanos(); System.nanoTime() < end; ) {
                for (UnauthorizedRequests.Request r : requests)
                    answers.merge(UnauthorizedRequests.answer(r), 1L, Long::sum);
                Thread.sleep(500);
            }
        });
        long tried = answers.values().stream().mapToLong(Long::longValue).sum();
        progress.accept("  answers while the database was away: " + answers);
        rows.add(row(
                name,
                t,
                null,
                null,
                null,
                null,
                new UnauthorizedWrites.Result(
                        tried, answers.getOrDefault("503", 0L), "answered (HTTP status: requests) " + answers)));
    }

    interface Intrusion {
        UnauthorizedWrites.Result attempt() throws Exception;
    }

    /** Writes or requests that must be refused; the row counts the refusals and names their reasons. */
    private void unauthorized(String name, Intrusion intrusion) throws Exception {
        progress.accept(name);
        long t = System.nanoTime();
        UnauthorizedWrites.Result r = intrusion.attempt();
        progress.accept("  refused " + r.refused() + " of " + r.attempted() + ": " + r.reasons());
        rows.add(row(name, t, null, null, null, null, r));
    }

    private Map<String, KafkaConnection> principals() {
        Map<String, KafkaConnection> m = new HashMap<>();
        for (String s : FleetStack.SERVICES) m.put(s, stack.kafka(s));
        return m;
    }

    /** Thousands of malformed and hostile records; waits until each consumer dead-lettered each. */
    private void hostile(KafkaProducer<String, byte[]> producer) throws Exception {
        progress.accept(settings.hostileEvents() + " malformed and hostile events");
        long t = System.nanoTime();
        HostileEvents.Sent sent = HostileEvents.send(producer, settings.hostileEvents(), settings.seed());
        // two busy cores: allow 50 ms per record on top of five minutes
        await(
                () -> hostileDeadLetters() >= sent.expectedDeadLetters(),
                Duration.ofMinutes(5).plusMillis(50L * sent.records()),
                "hostile events dead-lettered");
        rows.add(row(
                "hostile events (" + sent.records() + " records)",
                t,
                (long) hostileDeadLetters(),
                (long) sent.expectedDeadLetters(),
                null,
                null));
        progress.accept("  sent by kind " + sent.byKind() + ", by topic " + sent.byTopic());
    }

    /** {@link ForgedFronts} written to the model topics: the planner must dead-letter each, with its reason. */
    private void forgedFronts(
            KafkaProducer<String, byte[]> producer, ModelPublisher.Published v1, ModelPublisher.Published v2)
            throws Exception {
        progress.accept("forged front events");
        long t = System.nanoTime();
        long before = forgedFrontDeadLetters();
        List<CloudEvent> forged = ForgedFronts.events(v1, v2);
        for (CloudEvent e : forged) {
            producer.send(new ProducerRecord<>(
                    Topic.ofType(e.type()).name(),
                    null,
                    e.subject(),
                    KafkaCloudEvents.value(e),
                    KafkaCloudEvents.headers(e)));
        }
        producer.flush();
        await(() -> forgedFrontDeadLetters() - before >= forged.size(), Duration.ofMinutes(3), "forged fronts refused");
        rows.add(row(
                "forged front events (" + forged.size() + ")",
                t,
                forgedFrontDeadLetters() - before,
                (long) forged.size(),
                null,
                null));
    }

    /**
     * Packages with every file's right hash but no valid signature (unsigned, or signed by a key the attacker vouched
     * for itself), then genuine older manifests replayed, written to the adapter-ready topic as a leaked credential of
     * the generator could: every device must refuse each, and keep what it runs.
     */
    private void forgedPackages(KafkaProducer<String, byte[]> producer, DeviceAgents agents) throws Exception {
        List<String> candidates = devices.stream()
                .map(DeviceCapabilities::deviceId)
                .filter(d -> {
                    List<AdapterReady> seen = observer.adaptersOf(d);
                    PackageManifest.Signed applied = agents.appliedManifest(d);
                    return applied != null
                            && seen.size() >= 2
                            && seen.get(0).manifest() != null
                            && seen.get(0).manifest().manifest().sequence()
                                    < applied.manifest().sequence();
                })
                .limit(12)
                .toList();
        int forgedCount = candidates.size() * 2 / 3;
        List<String> forgedTo = candidates.subList(0, forgedCount),
                replayedTo = candidates.subList(forgedCount, candidates.size());
        packageRow(
                "forged packages, no valid signature",
                producer,
                agents,
                forgedTo,
                i -> i % 2 == 0 ? ForgedPackages.Kind.UNSIGNED : ForgedPackages.Kind.SELF_SIGNED);
        packageRow("replayed older manifests", producer, agents, replayedTo, i -> ForgedPackages.Kind.REPLAYED);
    }

    private void packageRow(
            String name,
            KafkaProducer<String, byte[]> producer,
            DeviceAgents agents,
            List<String> targets,
            IntFunction<ForgedPackages.Kind> kind)
            throws Exception {
        progress.accept(name + " to " + targets.size() + " devices");
        long t = System.nanoTime();
        int refusedBefore = agents.manifestsRefused();
        Map<String, Long> sequenceBefore = new HashMap<>();
        List<AdapterReady> forged = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            String d = targets.get(i);
            sequenceBefore.put(d, agents.appliedManifest(d).manifest().sequence());
            forged.add(ForgedPackages.forge(kind.apply(i), observer.adaptersOf(d)));
        }
        ForgedPackages.send(producer, forged);
        FleetObserver.await(() -> agents.manifestsRefused() - refusedBefore >= targets.size(), Duration.ofMinutes(2));
        Thread.sleep(2000); // room for a wrongful apply to show
        long applied = targets.stream()
                .filter(d -> agents.appliedManifest(d).manifest().sequence() != sequenceBefore.get(d))
                .count();
        long refused = Math.max(0, agents.manifestsRefused() - refusedBefore - applied);
        rows.add(row(
                name + " (" + targets.size() + ")",
                t,
                null,
                null,
                null,
                null,
                new UnauthorizedWrites.Result(
                        targets.size(),
                        refused,
                        "right hashes; the device refused the manifest and kept its package (" + applied
                                + " applied one)")));
    }

    /** The planner's dead letters of model events that the registry has no record of, each with that reason. */
    private long forgedFrontDeadLetters() {
        return observer.deadLetters().stream()
                .filter(d -> d.service().equals("coalora-planner")
                        && (d.topic().startsWith(Topic.MODEL_ALIASES.name())
                                || d.topic().startsWith(Topic.MODEL_VERSIONS.name()))
                        && d.reason() != null
                        && (d.reason().contains("forged") || d.reason().contains("has no version")))
                .count();
    }

    /**
     * Schema-valid records with every number at its bound (see {@link HostileEvents#extremes}): each consumer of the
     * capabilities topic must apply or dead-letter (with a reason) every one, and keep going.
     */
    private void extremes(KafkaProducer<String, byte[]> producer) throws Exception {
        List<CloudEvent> records = HostileEvents.extremes(Math.max(1000, settings.hostileEvents() / 10));
        progress.accept(records.size() + " schema-valid records at the numeric extremes");
        long t = System.nanoTime();
        for (CloudEvent e : records) {
            producer.send(new ProducerRecord<>(
                    Topic.CAPABILITIES.name(),
                    null,
                    e.subject(),
                    KafkaCloudEvents.value(e),
                    KafkaCloudEvents.headers(e)));
        }
        producer.flush();
        long expected = records.size() * 2L; // the planner and the registry consume capabilities
        await(() -> extremesHandled() >= expected, Duration.ofMinutes(5), "numeric extremes handled");
        rows.add(row(
                "numeric extremes (" + records.size() + " schema-valid records)",
                t,
                null,
                null,
                null,
                null,
                new UnauthorizedWrites.Result(
                        expected, extremesHandled(), "applied or dead-lettered with a reason, by each consumer")));
    }

    /** (consumer, record) pairs of the extremes that were applied (a device row, planned) or dead-lettered with a reason. */
    private long extremesHandled() {
        long handled = observer.deadLetters().stream()
                .filter(d -> d.key() != null && d.key().startsWith(HostileEvents.EXTREME))
                .filter(d -> d.reason() != null && !d.reason().isBlank())
                .map(d -> d.service() + "|" + d.key())
                .distinct()
                .count();
        try (var c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                var st = c.prepareStatement("select (select count(*) from registry.devices where device_id like ?) "
                        + "+ (select count(*) from planner.devices where device_id like ? and feasible is not null)")) {
            st.setString(1, HostileEvents.EXTREME + "%");
            st.setString(2, HostileEvents.EXTREME + "%");
            try (var rs = st.executeQuery()) {
                rs.next();
                return handled + rs.getLong(1);
            }
        } catch (SQLException e) {
            return handled;
        }
    }

    /** Distinct (service, record) dead letters of hostile records, each with a reason. */
    private int hostileDeadLetters() {
        Set<String> seen = new HashSet<>();
        for (FleetObserver.DeadLetter d : observer.deadLetters()) {
            if (d.key() != null
                    && d.key().startsWith("hostile-")
                    && d.reason() != null
                    && !d.reason().isBlank()) seen.add(d.service() + "|" + d.key());
        }
        return seen.size();
    }

    private Row row(String fault, long startNanos, Long deadLettered, Long sent, Long rejected, Long served)
            throws Exception {
        return row(fault, startNanos, deadLettered, sent, rejected, served, null);
    }

    /** After a fault: the services are ready again and a new device is planned; then what was lost or duplicated. */
    private Row row(
            String fault,
            long startNanos,
            Long deadLettered,
            Long sent,
            Long rejected,
            Long served,
            UnauthorizedWrites.Result writes)
            throws Exception {
        int up = 0;
        for (String s : FleetStack.SERVICES) {
            if (FleetObserver.await(stack.service(s)::isReady, Duration.ofMinutes(2))) up++;
        }
        boolean planned = measures.probe();
        long stale = measures.settledStale();
        failures.sample();
        // since the row before (the end of the run: over the whole run)
        boolean whole = startNanos == runStart;
        long http500s = failures.answers(500) - (whole ? 0 : last500s),
                deadlocks = failures.deadlocks() - (whole ? 0 : lastDeadlocks);
        last500s = failures.answers(500);
        lastDeadlocks = failures.deadlocks();
        Row r = new Row(
                fault,
                (System.nanoTime() - startNanos) / 1e9,
                measures.lost(),
                stale,
                measures.duplicates(),
                http500s,
                deadlocks,
                deadLettered,
                sent,
                rejected,
                served,
                up,
                planned,
                writes == null ? null : writes.refused(),
                writes == null ? null : writes.attempted(),
                writes == null ? null : writes.reasons());
        progress.accept(String.format(
                "  %s: %d lost, %d stale, %d duplicate assignments, %d HTTP 500, %d deadlocks, %d/%d services ready, planning %s",
                fault,
                r.devicesLost(),
                r.staleDevices(),
                r.duplicateAssignments(),
                r.http500s(),
                r.deadlocks(),
                up,
                FleetStack.SERVICES.size(),
                planned ? "works" : "STUCK"));
        return r;
    }

    private void await(BooleanSupplier done, Duration timeout, String what) throws InterruptedException {
        if (!FleetObserver.await(done, timeout)) progress.accept("  (timed out waiting for " + what + ")");
    }
}
