package ai.coalora.cli;

import ai.coalora.engine.CacheDir;
import ai.coalora.engine.data.Tasks;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.security.FleetKeys;
import ai.coalora.fleet.sim.DeviceAgents;
import ai.coalora.fleet.sim.FleetBundle;
import ai.coalora.fleet.sim.FleetDecoderBundle;
import ai.coalora.fleet.sim.FleetObserver;
import ai.coalora.fleet.sim.FleetRollout;
import ai.coalora.fleet.sim.FleetStack;
import ai.coalora.fleet.sim.LlamaCpp;
import ai.coalora.fleet.sim.ModelPublisher;
import ai.coalora.fleet.sim.SimulatedFleet;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The main job: the whole fleet system on embedded defaults, a simulated fleet rolled out end to end. */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description =
                "One-command fleet demo on embedded defaults: trains (once, cached) a small CoA-LoRA model version, starts a real "
                        + "Kafka broker and PostgreSQL from Maven artifacts, the registry, planner, adapter-generator and trainer services, registers "
                        + "and promotes the version, and lets a fleet of simulated devices with varied capabilities announce themselves; every device "
                        + "gets a configuration from the Pareto front and its adapter, downloads and verifies it, runs the real quantized model on its "
                        + "own data and reports telemetry; drifted telemetry triggers retraining into a canary version, which a 3-wave rollout with "
                        + "an accuracy gate then ships. Prints each step and leaves the registry API running.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--devices", defaultValue = "200", description = "Simulated devices (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(
            names = "--seed",
            defaultValue = "1",
            description = "Seed of the simulated fleet (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--bundle",
            description = "Use this trained bundle (from `coalora train`) instead of the demo's small one.")
    Path bundle;

    @Option(
            names = "--work-dir",
            description = "Where Kafka, PostgreSQL, blobs and logs live (default: a new directory in the cache).")
    Path workDir;

    @Option(names = "--exit", description = "Shut everything down after the summary instead of keeping the system up.")
    boolean exit;

    @Option(
            names = "--decoder",
            description = "Serve a language model instead: a small decoder (pretrained here, CoA-LoRA trained on it; "
                    + "cached) goes to a mixed fleet of llama.cpp and Java-runtime devices; the llama.cpp devices run "
                    + "their GGUF packages in real llama.cpp (scripts/install-llama-cpp.sh) and report perplexity; "
                    + "drifted text triggers retraining, and a rollout gated on perplexity ships the child. With "
                    + "--bundle: a decoder version folder (bundle and base model files).")
    boolean decoder;

    @Option(
            names = "--llama-devices",
            defaultValue = "24",
            description = "With --decoder: simulated llama.cpp devices (default: ${DEFAULT-VALUE}).")
    int llamaDevices;

    @Override
    public Integer call() throws Exception {
        if (devices < 1) throw new IllegalArgumentException("--devices must be >= 1");
        long t0 = System.nanoTime();
        if (decoder) return decoderDemo(t0);
        System.out.println("== 1/8 model version");
        Path bundleDir = bundle;
        if (bundleDir == null) {
            System.out.println("   the demo's CoA-LoRA bundle (sentiment, short schedule; trained once, then cached)");
            bundleDir = FleetBundle.DEMO.ensure(new ProgressBar());
        }
        System.out.println("   " + bundleDir);
        Path work = workDir(workDir);
        System.out.println("\n== 2/8 the system (data and logs in " + work + ")");
        try (FleetStack stack = FleetStack.start(work, m -> System.out.println("   " + m));
                FleetObserver observer = new FleetObserver(stack.kafkaAdmin())) {
            RegistryClient registry = stack.registry(FleetStack.ADMIN_USER);
            System.out.println("\n== 3/8 register the version and promote it to production");
            ModelPublisher.Published v =
                    ModelPublisher.registerAndPromote(registry, bundleDir, "production", "demo", "demo rollout");
            System.out.printf(
                    "   version %s, Pareto front of %d configurations (%.2f to %.2f average bits)%n",
                    v.modelVersion().substring(0, 16),
                    v.front().size(),
                    v.front().stream().mapToDouble(e -> e.averageBits()).min().orElse(0),
                    v.front().stream().mapToDouble(e -> e.averageBits()).max().orElse(0));

            System.out.println("\n== 4/8 " + devices + " simulated devices announce their capabilities");
            List<DeviceCapabilities> fleet = SimulatedFleet.devices(devices, v.front(), seed);
            // each device is enrolled first: its own gateway token, the only way it reaches the fleet
            Map<String, String> tokens =
                    stack.enrol(fleet.stream().map(DeviceCapabilities::deviceId).toList());
            FleetRollout.Result r = FleetRollout.run(
                    stack, observer, tokens, fleet, true, Duration.ofMinutes(10), m -> System.out.println("   " + m));

            System.out.println("\n== 5/8 summary of the planning");
            System.out.printf(
                    "   %d devices: %d ready with their adapter, %d with no feasible configuration, %d still waiting%n",
                    r.devices(), r.ready(), r.unassignable(), r.waiting());
            System.out.println("   devices by assigned average bits:");
            int widest = r.byAverageBits().values().stream()
                    .mapToInt(Integer::intValue)
                    .max()
                    .orElse(1);
            for (Map.Entry<String, Integer> e : r.byAverageBits().entrySet()) {
                System.out.printf(
                        "     %s-%-5s %5d %s%n",
                        e.getKey(),
                        String.format("%.2f", Double.parseDouble(e.getKey()) + 0.25),
                        e.getValue(),
                        "#".repeat(Math.max(1, 40 * e.getValue() / widest)));
            }
            r.unassignableReasons()
                    .forEach((why, n) -> System.out.printf("   no feasible configuration (%s): %d%n", why, n));
            if (r.exampleReason() != null) System.out.println("   e.g. " + r.exampleReason());
            if (r.exampleInfeasibleReason() != null) System.out.println("   e.g. " + r.exampleInfeasibleReason());
            System.out.printf(
                    "   adapters generated: %d packages (one per distinct configuration), %d files downloaded and sha256-verified%n",
                    r.distinctConfigurations(), r.filesVerified());
            System.out.printf(
                    "   largest device download: %.1f MB (packed base + adapter; no full-precision matrices)%n",
                    r.bytesPerDeviceMax() / 1e6);
            System.out.printf(
                    "   fleet answered in %.1f s (capabilities published -> last adapter ready); %.0f s so far%n",
                    r.lastAnswerSeconds(), (System.nanoTime() - t0) / 1e9);
            if (r.waiting() > 0) return 1;

            System.out.println(
                    "\n== 6/8 devices apply their packages: download, verify, run the quantized model on their own data, report");
            List<String> ids = fleet.stream().map(DeviceCapabilities::deviceId).toList();
            DeviceAgents agents = new DeviceAgents(
                    stack.gateway(),
                    stack.rootKey(),
                    tokens,
                    ids,
                    Tasks.builtin("sentiment").test(),
                    20,
                    new DeviceAgents.Faults(0.01, 0.03, 0.02, 0.02),
                    seed);
            long answering = fleet.stream()
                    .filter(d -> !agents.offlineDevices().contains(d.deviceId()))
                    .filter(d -> observer.assignmentsOf(d.deviceId()).stream()
                            .reduce((a, b) -> b)
                            .map(a -> a.feasible())
                            .orElse(false))
                    .count();
            FleetObserver.await(
                    () -> status(registry, "running") + status(registry, "failed") >= answering, Duration.ofMinutes(5));
            DeviceAgents.Report ar = agents.report();
            System.out.printf(
                    "   %d devices running their package, %d rejected a corrupted download (reported, not applied), %d offline; "
                            + "%d crashed mid-update and re-applied after reboot, %d were slow; %d distinct models loaded%n",
                    status(registry, "running"),
                    ar.rejected(),
                    ar.offline(),
                    ar.crashed(),
                    ar.slow(),
                    ar.modelsLoaded());

            System.out.println("\n== 7/8 telemetry-driven retraining: the largest group of devices sees drifted data");
            Map<String, List<String>> byPackage = new TreeMap<>();
            for (var e : observer.adapters().entrySet()) {
                if (agents.offlineDevices().contains(e.getKey())) continue;
                var last = e.getValue().get(e.getValue().size() - 1);
                byPackage
                        .computeIfAbsent(last.configId(), k -> new ArrayList<>())
                        .add(e.getKey());
            }
            List<String> drifted = byPackage.values().stream()
                    .max(Comparator.comparingInt(List::size))
                    .orElse(List.of());
            System.out.printf("   %d devices measure again on drifted data%n", agents.reevaluate(drifted, true));
            JsonNode request = awaitJson(registry, "api/retraining", q -> q.size() > 0, Duration.ofMinutes(1));
            if (request == null || request.size() == 0) {
                System.out.println("   no retraining request was raised");
                return 1;
            }
            String requestId = request.get(0).get("requestId").asText();
            System.out.println("   registry: " + request.get(0).get("reason").asText());
            System.out.println("   trainer: warm-started CoA-LoRA training from that version (about a minute)...");
            JsonNode answered = awaitJson(
                    registry, "api/retraining", q -> q.get(0).hasNonNull("resultVersion"), Duration.ofMinutes(10));
            if (answered == null) {
                System.out.println("   the trainer did not answer; see "
                        + stack.service("trainer").log());
                return 1;
            }
            String canary = answered.get(0).get("resultVersion").asText();
            JsonNode lineage = registry.getJson("api/versions/" + canary).get("lineage");
            System.out.printf(
                    "   version %s registered as canary; lineage: parent %s, request %s, data %s%n",
                    canary.substring(0, 16),
                    lineage.get("warmStartFrom").asText().substring(0, 16),
                    requestId,
                    lineage.get("data").get("sha256").asText().substring(0, 16));

            System.out.println("\n== 8/8 rollout of the canary in 3 waves (10% / 30% / 60%) with the accuracy gate");
            JsonNode rollout = registry.sendJson(
                    "POST",
                    "api/rollouts",
                    Map.of(
                            "modelVersion",
                            canary,
                            "actor",
                            "demo",
                            "successThreshold",
                            0.85,
                            "errorThreshold",
                            0.2,
                            "qualityMargin",
                            0.1,
                            "onFailure",
                            "pause"));
            String rolloutId = rollout.get("rolloutId").asText();
            JsonNode end = awaitJson(
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
            System.out.println(
                    "   rollout " + rolloutId + ": " + end.get("state").asText());
            agentsToClose = agents;

            System.out.printf("%n   whole demo %.0f s%n", (System.nanoTime() - t0) / 1e9);
            printEndpoints(stack);
            System.out.println("                  " + stack.registryUrl() + "/api/rollouts/" + rolloutId);
            if (!exit) keepRunning(agents, observer, stack);
        }
        if (agentsToClose != null) agentsToClose.close();
        return 0;
    }

    static Path workDir(Path given) throws IOException {
        return given != null
                ? given
                : Files.createDirectories(CacheDir.root().resolve("demo"))
                        .resolve("run-" + LocalDateTime.now().toString().replace(':', '-'));
    }

    static void printEndpoints(FleetStack stack) {
        System.out.println("\n   dashboard:     " + stack.registryUrl() + "/dashboard/");
        System.out.println("   registry API:  " + stack.registryUrl() + "/api/fleet/summary");
        System.out.println("                  " + stack.registryUrl() + "/api/devices?status=running");
        System.out.println("   OpenAPI:       " + stack.registryUrl() + "/openapi");
        System.out.println("   logins:        " + FleetStack.ADMIN_USER + " / "
                + stack.credentials(FleetStack.ADMIN_USER).password() + "   "
                + FleetStack.OPERATOR_USER + " / "
                + stack.credentials(FleetStack.OPERATOR_USER).password() + "   "
                + FleetStack.VIEWER_USER + " / "
                + stack.credentials(FleetStack.VIEWER_USER).password()
                + "   (random per run; the users file holds only hashes)");
        System.out.println("   device gateway: " + stack.gatewayUrl() + "/device/v1   (HTTPS, certificate "
                + stack.gatewayCertificate() + ")");
        System.out.println("   more devices:  COALORA_PASSWORD="
                + stack.credentials(FleetStack.OPERATOR_USER).password() + " ./coalora agents --registry "
                + stack.registryUrl() + " --gateway " + stack.gatewayUrl() + " --gateway-certificate "
                + stack.gatewayCertificate() + " --root-key "
                + stack.keysDir().resolve(FleetKeys.ROOT_PUBLIC)
                + "   (enrols them as operator; they use only the device gateway)");
    }

    /** Keeps the system up until Ctrl-C, whose hook stops the agents, the services, the database and the broker. */
    static void keepRunning(DeviceAgents agents, FleetObserver observer, FleetStack stack) throws InterruptedException {
        System.out.println("\nThe system keeps running; press Ctrl-C to stop it.");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (agents != null) agents.close();
            observer.close();
            stack.close();
        }));
        new CountDownLatch(1).await();
    }

    private DeviceAgents agentsToClose;

    private int decoderDemo(long t0) throws Exception {
        if (llamaDevices < 1) throw new IllegalArgumentException("--llama-devices must be >= 1");
        String missing = LlamaCpp.unavailable();
        if (missing != null) {
            System.err.println("demo --decoder needs llama.cpp: " + missing);
            return 2;
        }
        System.out.println("== 1/7 decoder version");
        Path bundleDir = bundle;
        if (bundleDir == null) {
            System.out.println("   the demo's decoder: pretrained here on the LM corpus, CoA-LoRA trained on the "
                    + "sentiment texts (once, then cached)");
            bundleDir = FleetDecoderBundle.DEMO.ensure(new ProgressBar());
        }
        System.out.println("   " + bundleDir);
        Path work = workDir(workDir);
        System.out.println("\n== 2/7 the system (data and logs in " + work + ")");
        DeviceAgents[] agents = new DeviceAgents[1];
        try (FleetStack stack = FleetStack.start(work, m -> System.out.println("   " + m));
                FleetObserver observer = new FleetObserver(stack.kafkaAdmin())) {
            int code = new DecoderDemo(bundleDir, llamaDevices, seed).run(stack, observer, t0, agents);
            if (code == 0) printEndpoints(stack);
            if (code == 0 && !exit) keepRunning(agents[0], observer, stack);
            return code;
        } finally {
            if (agents[0] != null) agents[0].close();
        }
    }

    static long status(RegistryClient registry, String status) {
        try {
            return registry.getJson("api/fleet/summary")
                    .path("byStatus")
                    .path(status)
                    .asLong();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Polls a registry resource until {@code done} holds; null on timeout. */
    static JsonNode awaitJson(RegistryClient registry, String path, Predicate<JsonNode> done, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                JsonNode n = registry.getJson(path);
                if (done.test(n)) return n;
            } catch (IOException notYet) {
                // keep polling
            }
            Thread.sleep(500);
        }
        return null;
    }
}
