package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.planning.FrontCoverage;
import ai.coalora.fleet.registry.RegistryClient;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The coverage trigger of telemetry-driven retraining, end to end on real Kafka, PostgreSQL and the four
 * services: devices whose memory falls in the widest hole of the front (between two neighbouring front
 * points) run a configuration well below what they could hold; the registry requests their budget, the
 * trainer retrains with an allocation at it, and the new version's front covers them.
 */
class FrontCoverageRetrainingIT {
    static final int PLANTED = 3;
    static final List<Integer> ALL_BITS = List.of(2, 3, 4, 8);

    @Test
    void devicesInAHoleOfTheFrontTriggerRetrainingThatCoversThem() throws Exception {
        Path bundle = FleetBundle.TEST.ensure(Progress.NONE);
        // the widest hole between neighbouring front points decides the threshold: a gap of half of it counts
        List<Double> bits = ModelBundle.read(bundle).manifest().front().stream()
                .map(BundleManifest.FrontPoint::averageBits)
                .sorted()
                .toList();
        double lo = 0, hole = 0;
        for (int i = 1; i < bits.size(); i++) {
            if (bits.get(i) - bits.get(i - 1) > hole) {
                hole = bits.get(i) - bits.get(i - 1);
                lo = bits.get(i - 1);
            }
        }
        double threshold = Math.floor(hole / 2 * 100) / 100;
        // planted budgets: in one half-bit segment, between lo + 0.55 hole and hi - 0.05 (gap above the threshold, hi
        // out of reach)
        double segment = Math.floor((lo + 0.75 * hole) * 2) / 2;
        double from = Math.max(segment, lo + 0.55 * hole), to = Math.min(segment + 0.5, lo + hole - 0.05);
        assertTrue(
                to - from > 0.03, String.format("room for the planted devices in the hole %.3f..%.3f", lo, lo + hole));
        System.out.printf(
                "[coverage] widest hole %.3f..%.3f bits; threshold %.2f bits; planted budgets %.3f..%.3f%n",
                lo, lo + hole, threshold, from, to);

        Path work = Files.createTempDirectory("coalora-coverage-");
        try (FleetStack stack = FleetStack.start(
                work,
                Map.of(
                        "COALORA_COVERAGE_GAP_BITS",
                        Double.toString(threshold),
                        "COALORA_COVERAGE_MIN_DEVICES",
                        Integer.toString(PLANTED)),
                m -> System.out.println("[coverage] " + m))) {
            RegistryClient registry = stack.registry(FleetStack.ADMIN_USER);
            ModelPublisher.Published v1 =
                    ModelPublisher.registerAndPromote(registry, bundle, "production", "coverage-test", "version one");
            FrontCoverage coverage = FrontCoverage.of(v1.front());
            double lower = lo;
            FrontEntry nearest = v1.front().stream()
                    .filter(e -> Math.abs(e.averageBits() - lower) < 1e-6)
                    .findFirst()
                    .orElseThrow();
            List<DeviceCapabilities> planted = new ArrayList<>();
            for (int i = 0; i < PLANTED; i++) {
                double budget = (from + to) / 2 + (i - 1) * 0.01;
                long overhead = 4L << 20;
                long memory = overhead
                        + nearest.weightBytes()
                        + nearest.adapterBytes()
                        + (long) ((budget - lo) * coverage.bytesPerBit());
                planted.add(new DeviceCapabilities(
                        String.format("hole-%03d", i),
                        memory,
                        ALL_BITS,
                        List.of("coalora-packed"),
                        "mid",
                        overhead,
                        Map.of("fleet", "coverage-test")));
            }
            for (DeviceCapabilities d : planted) {
                FrontCoverage.Coverage c = coverage.forDevice(d);
                assertTrue(
                        c.gapBits() >= threshold && Math.abs(c.nearestBits() - lo) < 1e-6,
                        d.deviceId() + " sits in the hole: " + c);
            }
            SimulatedFleet.announce(
                    stack.gateway(),
                    stack.enrol(
                            planted.stream().map(DeviceCapabilities::deviceId).toList()),
                    planted);

            // the registry raises one coverage request for the group
            JsonNode[] request = new JsonNode[1];
            assertTrue(
                    FleetObserver.await(
                            () -> {
                                for (JsonNode q : retraining(registry)) {
                                    if ("coverage"
                                            .equals(q.path("evidence")
                                                    .path("kind")
                                                    .asText())) {
                                        request[0] = q;
                                        return true;
                                    }
                                }
                                return false;
                            },
                            Duration.ofMinutes(1)),
                    "a coverage request: " + registry.getJson("api/retraining") + "\nregistry log:\n"
                            + stack.service("registry").logTail(30));
            JsonNode q = request[0];
            System.out.println("[coverage] request: " + q.get("reason").asText());
            assertTrue(q.get("reason").asText().startsWith("front coverage: " + PLANTED + " devices"), q.toString());
            assertEquals(0, q.get("configIds").size(), "a coverage request names budgets, not configurations");
            List<Payloads.CoverageBudget> budgets =
                    Payloads.JSON.convertValue(q.get("budgets"), new TypeReference<List<Payloads.CoverageBudget>>() {});
            assertEquals(1, budgets.size(), q.toString());
            Payloads.CoverageBudget b = budgets.get(0);
            assertEquals(ALL_BITS, b.weightBits());
            assertEquals(PLANTED, b.devices());
            double smallest = planted.stream()
                    .mapToDouble(d -> coverage.forDevice(d).budgetBits())
                    .min()
                    .orElseThrow();
            assertTrue(
                    b.averageBits() <= smallest && b.averageBits() > smallest - 0.05,
                    "budget " + b.averageBits() + " vs smallest " + smallest);
            JsonNode segment0 = q.get("evidence").get("segments").get(0);
            assertEquals(segment, segment0.get("fromBits").asDouble(), 1e-9);

            // the trainer answers with a version whose front covers the planted devices
            String requestId = q.get("requestId").asText();
            assertTrue(
                    FleetObserver.await(
                            () -> {
                                for (JsonNode r : retraining(registry)) {
                                    if (r.get("requestId").asText().equals(requestId)
                                            && r.hasNonNull("resultVersion")) {
                                        request[0] = r;
                                        return true;
                                    }
                                }
                                return false;
                            },
                            Duration.ofMinutes(6)),
                    "the trainer answered " + requestId + "\ntrainer log:\n"
                            + stack.service("trainer").logTail(30));
            String child = request[0].get("resultVersion").asText();
            JsonNode v2 = registry.getJson("api/versions/" + child);
            assertEquals(v1.modelVersion(), v2.get("parentVersion").asText());
            assertEquals(requestId, v2.get("lineage").get("retrainingRequest").asText());
            assertEquals(
                    "coverage",
                    v2.get("lineage").get("trigger").get("evidence").get("kind").asText());
            assertNotNull(v2.get("lineage").get("addedBudgets"), "lineage names the budgets");
            List<FrontEntry> front2 =
                    Payloads.JSON.convertValue(v2.get("front"), new TypeReference<List<FrontEntry>>() {});
            FrontCoverage coverage2 = FrontCoverage.of(front2);
            for (DeviceCapabilities d : planted) {
                FrontCoverage.Coverage before = coverage.forDevice(d), after = coverage2.forDevice(d);
                System.out.printf(
                        "[coverage] %s: budget %.3f bits, nearest front point %.3f -> %.3f bits (gap %.3f -> %.3f)%n",
                        d.deviceId(),
                        before.budgetBits(),
                        before.nearestBits(),
                        after.nearestBits(),
                        before.gapBits(),
                        after.gapBits());
                assertTrue(after.gapBits() < 0.1, d.deviceId() + " is covered by the new front: " + after);
            }
            // no second request for a group already requested
            assertEquals(1, countCoverageRequests(registry));
        }
    }

    /** The registry's retraining requests (a BooleanSupplier cannot throw). */
    static JsonNode retraining(RegistryClient registry) {
        try {
            return registry.getJson("api/retraining");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static long countCoverageRequests(RegistryClient registry) throws Exception {
        long n = 0;
        for (JsonNode q : registry.getJson("api/retraining"))
            if ("coverage".equals(q.path("evidence").path("kind").asText())) n++;
        return n;
    }
}
