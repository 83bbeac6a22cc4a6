package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.DeviceTarget;
import ai.coalora.fleet.registry.RegistryClient;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the fault suite measures of a running fleet: simulated devices lost or stale, duplicate assignments, whether a
 * new device still gets planned, which version each device runs, and the services' counters of duplicate events.
 */
final class FleetMeasures {
    private final FleetStack stack;
    private final FleetObserver observer;
    private final RegistryClient admin;
    private final List<DeviceCapabilities> devices;
    private int probes;

    /** @param devices the simulated devices, each with an agent */
    FleetMeasures(FleetStack stack, FleetObserver observer, RegistryClient admin, List<DeviceCapabilities> devices) {
        this.stack = stack;
        this.observer = observer;
        this.admin = admin;
        this.devices = List.copyOf(devices);
    }

    /** A new device announces itself; the registry must show it planned within a minute. */
    boolean probe() throws Exception {
        DeviceCapabilities d = devices.get(0);
        DeviceCapabilities p = new DeviceCapabilities(
                "probe-" + (probes++),
                d.memoryBytes() * 4,
                List.of(2, 3, 4, 8),
                List.of("coalora-packed"),
                "high",
                d.runtimeOverheadBytes(),
                Map.of("fleet", "fault-probe"));
        try {
            SimulatedFleet.announce(stack.gateway(), stack.enrol(List.of(p.deviceId())), List.of(p));
        } catch (IOException down) {
            return false; // the gateway did not take it: planning does not work for a new device now
        }
        return FleetObserver.await(
                () -> {
                    JsonNode dev = get("api/devices/" + p.deviceId());
                    return dev != null
                            && Set.of("assigned", "ready", "running", "unassignable")
                                    .contains(dev.path("status").asText());
                },
                Duration.ofMinutes(2));
    }

    /** Devices the simulator announced that the registry or the planner does not know. */
    long lost() throws Exception {
        List<String> ids = devices.stream().map(DeviceCapabilities::deviceId).toList();
        long missing = 0;
        try (var c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "")) {
            for (String table : List.of("registry.devices", "planner.devices")) {
                try (var st = c.prepareStatement("select count(*) from " + table + " where device_id = any(?)")) {
                    st.setArray(1, c.createArrayOf("text", ids.toArray()));
                    try (var rs = st.executeQuery()) {
                        rs.next();
                        missing = Math.max(missing, ids.size() - rs.getLong(1));
                    }
                }
            }
        }
        return missing;
    }

    /**
     * Devices whose state in the registry is not the planner's latest decision for them: an older assignment that won
     * over a newer one (per-device order broken, e.g. by a re-send after an outage).
     */
    long stale() {
        try (var c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                var st = c.prepareStatement(
                        "select count(*) from planner.devices p join registry.devices r using (device_id) "
                                + "where p.assignment_id is not null and p.assignment_id is distinct from r.assignment_id");
                var rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            return Long.MAX_VALUE; // the database is away: nothing agrees yet
        }
    }

    /**
     * Stale devices once the registry caught up with the planner: counted only while nothing is in flight between the
     * services (checked before and after the count), so a decision still on its way is not counted and one that never
     * arrives is. Waits up to two minutes for a count of 0; else the last such count.
     */
    long settledStale() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos(), last = -1;
        while (System.nanoTime() < deadline) {
            if (stack.quiet()) {
                long n = stale();
                if (stack.quiet()) {
                    if (n == 0) return 0;
                    last = n;
                }
            }
            Thread.sleep(250);
        }
        return last >= 0 ? last : stale();
    }

    /** Assignments of a rollout beyond the targets that caused them (each wave target or retry causes one). */
    long duplicates() {
        long extra = 0;
        for (DeviceCapabilities d : devices) {
            Map<String, Set<String>> assignmentIds = new HashMap<>();
            for (Assignment a : observer.assignmentsOf(d.deviceId())) {
                if (a.rolloutId() != null)
                    assignmentIds
                            .computeIfAbsent(a.rolloutId(), k -> new HashSet<>())
                            .add(a.assignmentId());
            }
            Map<String, Integer> causes = new HashMap<>();
            for (DeviceTarget t : observer.targets().getOrDefault(d.deviceId(), List.of())) {
                if (t.rolloutId() != null) causes.merge(t.rolloutId(), 1, Integer::sum);
            }
            for (var e : assignmentIds.entrySet())
                extra += Math.max(0, e.getValue().size() - causes.getOrDefault(e.getKey(), 0));
        }
        return extra;
    }

    /** The simulated devices that run something now, each with the version it runs. */
    Map<String, String> running() throws IOException {
        Set<String> ours =
                new HashSet<>(devices.stream().map(DeviceCapabilities::deviceId).toList());
        Map<String, String> running = new HashMap<>();
        for (int offset = 0; ; offset += 1000) {
            JsonNode page = admin.getJson("api/devices?status=running&limit=1000&offset=" + offset);
            for (JsonNode d : page)
                if (ours.contains(d.get("deviceId").asText()))
                    running.put(
                            d.get("deviceId").asText(), d.path("modelVersion").asText());
            if (page.size() < 1000) break;
        }
        return running;
    }

    /** Devices of {@code ids} that do not run {@code version} now. */
    long notOn(Set<String> ids, String version) {
        try {
            Map<String, String> now = running();
            return ids.stream().filter(d -> !version.equals(now.get(d))).count();
        } catch (IOException e) {
            return ids.size(); // the registry is away: nothing is known to run it
        }
    }

    /** Devices not running the version they ran in {@code before}. */
    long notBack(Map<String, String> before) {
        try {
            Map<String, String> now = running();
            return before.entrySet().stream()
                    .filter(e -> !e.getValue().equals(now.get(e.getKey())))
                    .count();
        } catch (IOException e) {
            return before.size();
        }
    }

    long settled() {
        JsonNode s = get("api/fleet/summary");
        if (s == null) return 0;
        return s.path("byStatus").path("running").asLong()
                + s.path("byStatus").path("unassignable").asLong()
                + s.path("byStatus").path("failed").asLong();
    }

    /** A counter of coalora_events_processed_total{outcome="duplicate"} summed over topics, from the service's /q/metrics. */
    long duplicates(String service) {
        try {
            return (long) PrometheusScrape.fetch(stack.service(service).url())
                    .sum("coalora_events_processed_total", Map.of("outcome", "duplicate"));
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    JsonNode get(String path) {
        try {
            return admin.getJsonOrNull(path);
        } catch (IOException e) {
            return null; // the registry is restarting
        }
    }
}
