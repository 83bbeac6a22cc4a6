package ai.coalora.cli;

import ai.coalora.engine.data.Tasks;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.sim.DeviceAgents;
import ai.coalora.fleet.sim.FleetDecoderBundle;
import ai.coalora.fleet.sim.FleetObserver;
import ai.coalora.fleet.sim.FleetRollout;
import ai.coalora.fleet.sim.FleetStack;
import ai.coalora.fleet.sim.ModelPublisher;
import ai.coalora.fleet.sim.SimulatedFleet;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code demo --decoder}: the fleet serving a language model. A small decoder (pretrained here, CoA-LoRA trained on it;
 * cached) goes to a mixed fleet: devices that run llama.cpp (most with every GGUF type, some with a build that has only
 * the legacy types, some without Q3_K) and devices that run only the Java runtime's packed format. Each llama.cpp device gets the
 * configuration with the lowest predicted perplexity that fits its memory in the types it declares, downloads and
 * verifies model.gguf and adapter.gguf, runs them in real llama.cpp on its own text and reports perplexity; drifted
 * text then raises a retraining request, and the trainer's child version ships in a rollout gated on perplexity.
 */
final class DecoderDemo {
    static final int JAVA_DEVICES = 8;

    private final Path bundle;
    private final int llamaDevices;
    private final long seed;

    /** @param bundle the decoder version's folder ({@link FleetDecoderBundle#DEMO}'s or the user's) */
    DecoderDemo(Path bundle, int llamaDevices, long seed) {
        this.bundle = bundle;
        this.llamaDevices = llamaDevices;
        this.seed = seed;
    }

    /** Runs the demo on a started stack; returns the exit code and leaves the agents to close to the caller. */
    int run(FleetStack stack, FleetObserver observer, long t0, DeviceAgents[] agentsOut) throws Exception {
        RegistryClient registry = stack.registry(FleetStack.ADMIN_USER);
        System.out.println("\n== 3/7 register the decoder version (bundle + base model files) and promote it");
        ModelPublisher.Published v =
                ModelPublisher.registerAndPromote(registry, bundle, "production", "demo", "decoder demo");
        JsonNode version = registry.getJson("api/versions/" + v.modelVersion());
        System.out.printf(
                "   version %s: %s, front of %d configurations scored by validation %s%n",
                v.modelVersion().substring(0, 16),
                version.get("kind").asText(),
                v.front().size(),
                version.get("measure").asText());
        for (FrontEntry e : v.front().stream()
                .sorted(Comparator.comparingDouble(FrontEntry::averageBits))
                .toList())
            System.out.printf(
                    "     %.2f bits  predicted perplexity %7.2f  model.gguf + adapter.gguf %5.2f MB%n",
                    e.averageBits(), e.predicted(), (e.weightBytes() + e.adapterBytes()) / 1e6);

        System.out.printf(
                "%n== 4/7 %d llama.cpp devices and %d Java-runtime devices announce their capabilities%n",
                llamaDevices, JAVA_DEVICES);
        List<DeviceCapabilities> fleet = new ArrayList<>(SimulatedFleet.llamaCppDevices(llamaDevices, v.front(), seed));
        for (DeviceCapabilities d : SimulatedFleet.devices(JAVA_DEVICES, v.front(), seed))
            fleet.add(new DeviceCapabilities(
                    d.deviceId().replace("sim-", "java-"),
                    d.memoryBytes(),
                    d.weightBits(),
                    List.of("coalora-packed"),
                    d.computeClass(),
                    d.runtimeOverheadBytes(),
                    Map.of("fleet", "simulated", "runtime", "java")));
        Map<String, String> tokens =
                stack.enrol(fleet.stream().map(DeviceCapabilities::deviceId).toList());
        FleetRollout.Result r = FleetRollout.run(
                stack, observer, tokens, fleet, true, Duration.ofMinutes(10), m -> System.out.println("   " + m));
        System.out.printf(
                "   %d devices: %d with their package ready, %d with no feasible configuration, %d still waiting%n",
                r.devices(), r.ready(), r.unassignable(), r.waiting());
        Map<String, int[]> byType = new TreeMap<>(); // device type -> {ready, none}
        for (DeviceCapabilities d : fleet) {
            var as = observer.assignmentsOf(d.deviceId());
            boolean feasible = !as.isEmpty() && as.get(as.size() - 1).feasible();
            byType.computeIfAbsent(deviceType(d), k -> new int[2])[feasible ? 0 : 1]++;
        }
        List<String> planned = fleet.stream()
                .map(DeviceCapabilities::deviceId)
                .filter(d -> {
                    var as = observer.assignmentsOf(d);
                    return !as.isEmpty() && as.get(as.size() - 1).feasible();
                })
                .toList();
        byType.forEach((type, n) ->
                System.out.printf("     %-34s %3d planned, %3d with no feasible configuration%n", type, n[0], n[1]));
        r.unassignableReasons()
                .forEach((why, n) -> System.out.printf("   no feasible configuration (%s): %d%n", why, n));
        if (r.exampleInfeasibleReason() != null) System.out.println("   e.g. " + r.exampleInfeasibleReason());
        System.out.printf(
                "   %d GGUF packages (one per configuration and type mapping), %d files downloaded and verified%n",
                r.distinctConfigurations(), r.filesVerified());
        if (r.waiting() > 0) return 1;

        System.out.println("\n== 5/7 llama.cpp devices run their packages in real llama.cpp on their own text");
        List<String> ids = fleet.stream().map(DeviceCapabilities::deviceId).toList();
        DeviceAgents agents = new DeviceAgents(
                stack.gateway(),
                stack.rootKey(),
                tokens,
                ids,
                Tasks.builtin("sentiment").test(),
                20,
                new DeviceAgents.Faults(0, 0, 0, 0.05),
                seed);
        agentsOut[0] = agents;
        FleetObserver.await(
                () -> DemoCommand.status(registry, "running") + DemoCommand.status(registry, "failed")
                        >= planned.size(),
                Duration.ofMinutes(5));
        System.out.printf(
                "   %d llama.cpp devices running their package, %d refused a corrupted download (reported, not run)%n",
                DemoCommand.status(registry, "running"), agents.report().rejected());
        Map<String, FrontEntry> front =
                v.front().stream().collect(Collectors.toMap(FrontEntry::configId, Function.identity()));
        System.out.println("   per configuration: devices, predicted and measured perplexity (mean), decode speed");
        try (Connection c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                ResultSet rs = c.createStatement()
                        .executeQuery(
                                "select config_id, count(distinct device_id), avg(quality), avg(tokens_per_second)"
                                        + " from registry.telemetry where model_version = '" + v.modelVersion()
                                        + "' group by config_id")) {
            while (rs.next()) {
                FrontEntry e = front.get(rs.getString(1));
                System.out.printf(
                        "     %.2f bits  %3d devices  predicted %7.2f  measured %7.2f  %6.1f tokens/s%n",
                        e.averageBits(), rs.getInt(2), e.predicted(), rs.getDouble(3), rs.getDouble(4));
            }
        }
        ids.stream()
                .filter(d -> agents.sample(d) != null)
                .findFirst()
                .ifPresent(d -> System.out.println("   sample from " + d + ": \"" + agents.sample(d) + "\""));

        System.out.println("\n== 6/7 telemetry-driven retraining: the largest group of devices sees drifted text");
        Map<String, List<String>> byConfig = new TreeMap<>();
        for (String d : ids) {
            List<AdapterReady> p = observer.adaptersOf(d);
            if (!p.isEmpty())
                byConfig.computeIfAbsent(p.get(p.size() - 1).configId(), k -> new ArrayList<>())
                        .add(d);
        }
        List<String> drifted = byConfig.values().stream()
                .max(Comparator.comparingInt(List::size))
                .orElse(List.of());
        System.out.printf(
                "   %d devices measure again on text whose word order is reversed%n", agents.reevaluate(drifted, true));
        JsonNode request = DemoCommand.awaitJson(registry, "api/retraining", q -> q.size() > 0, Duration.ofMinutes(1));
        if (request == null || request.size() == 0) {
            System.out.println("   no retraining request was raised");
            return 1;
        }
        System.out.println("   registry: " + request.get(0).get("reason").asText());
        System.out.println("   trainer: warm-started CoA-LoRA training of the decoder from that version...");
        JsonNode answered = DemoCommand.awaitJson(
                registry, "api/retraining", q -> q.get(0).hasNonNull("resultVersion"), Duration.ofMinutes(10));
        if (answered == null) {
            System.out.println("   the trainer did not answer; see "
                    + stack.service("trainer").log());
            return 1;
        }
        String canary = answered.get(0).get("resultVersion").asText();
        System.out.printf(
                "   version %s registered as canary (parent %s)%n",
                canary.substring(0, 16), v.modelVersion().substring(0, 16));

        System.out.println(
                "\n== 7/7 rollout of the canary to the planned devices in 2 waves with the perplexity gate (margin 25%)");
        JsonNode rollout = registry.sendJson(
                "POST",
                "api/rollouts",
                Map.of(
                        "modelVersion",
                        canary,
                        "actor",
                        "demo",
                        "deviceIds",
                        planned,
                        "waveFractions",
                        List.of(0.25, 0.75),
                        "successThreshold",
                        0.8,
                        "errorThreshold",
                        0.25,
                        "qualityMargin",
                        0.25,
                        "onFailure",
                        "pause"));
        String rolloutId = rollout.get("rolloutId").asText();
        JsonNode end = DemoCommand.awaitJson(
                registry,
                "api/rollouts/" + rolloutId,
                x -> !x.get("state").asText().equals("running"),
                Duration.ofMinutes(10));
        for (JsonNode t : end.get("transitions"))
            System.out.printf(
                    "   [%s] %s: %s%n",
                    t.get("actor").asText(),
                    t.get("to").asText(),
                    t.get("reason").asText());
        System.out.println("   rollout " + rolloutId + ": " + end.get("state").asText());
        System.out.printf("%n   whole demo %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    static String deviceType(DeviceCapabilities d) {
        if (!d.runtimeFormats().contains("gguf")) return "Java runtime (packed only)";
        if (d.ggufTypes() == null || !d.ggufTypes().contains("Q4_K")) return "llama.cpp, legacy types only";
        return d.ggufTypes().contains("Q3_K") ? "llama.cpp, every GGUF type" : "llama.cpp, no Q3_K";
    }
}
