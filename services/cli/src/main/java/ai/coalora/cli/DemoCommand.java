package ai.coalora.cli;

import ai.coalora.engine.CacheDir;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.sim.FleetBundle;
import ai.coalora.fleet.sim.FleetObserver;
import ai.coalora.fleet.sim.FleetRollout;
import ai.coalora.fleet.sim.FleetStack;
import ai.coalora.fleet.sim.ModelPublisher;
import ai.coalora.fleet.sim.SimulatedFleet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The main job: the whole fleet system on embedded defaults, a simulated fleet rolled out end to end. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "One-command fleet demo on embedded defaults: trains (once, cached) a small CoA-LoRA model version, starts a real "
                + "Kafka broker and PostgreSQL from Maven artifacts, the registry, planner and adapter-generator services, registers and "
                + "promotes the version, and lets a fleet of simulated devices with varied capabilities announce themselves; every device "
                + "gets a configuration from the Pareto front and its adapter, whose downloads are verified. Prints a summary and leaves "
                + "the registry API running.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--devices", defaultValue = "200", description = "Simulated devices (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the simulated fleet (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--bundle", description = "Use this trained bundle (from `coalora train`) instead of the demo's small one.")
    Path bundle;

    @Option(names = "--work-dir", description = "Where Kafka, PostgreSQL, blobs and logs live (default: a new directory in the cache).")
    Path workDir;

    @Option(names = "--exit", description = "Shut everything down after the summary instead of keeping the system up.")
    boolean exit;

    @Override
    public Integer call() throws Exception {
        if (devices < 1) throw new IllegalArgumentException("--devices must be >= 1");
        long t0 = System.nanoTime();
        System.out.println("== 1/5 model version");
        Path bundleDir = bundle;
        if (bundleDir == null) {
            System.out.println("   the demo's CoA-LoRA bundle (sentiment, short schedule; trained once, then cached)");
            bundleDir = FleetBundle.DEMO.ensure(new ProgressBar());
        }
        System.out.println("   " + bundleDir);
        Path work = workDir != null ? workDir : Files.createDirectories(CacheDir.root().resolve("demo"))
                .resolve("run-" + java.time.LocalDateTime.now().toString().replace(':', '-'));
        System.out.println("\n== 2/5 the system (data and logs in " + work + ")");
        try (FleetStack stack = FleetStack.start(work, m -> System.out.println("   " + m));
             FleetObserver observer = new FleetObserver(stack.bootstrapServers())) {
            RegistryClient registry = new RegistryClient(stack.registryUrl());
            System.out.println("\n== 3/5 register the version and promote it to production");
            ModelPublisher.Published v = ModelPublisher.registerAndPromote(registry, bundleDir, "production", "demo", "demo rollout");
            System.out.printf("   version %s, Pareto front of %d configurations (%.2f to %.2f average bits)%n", v.modelVersion().substring(0, 16),
                    v.front().size(), v.front().stream().mapToDouble(e -> e.averageBits()).min().orElse(0),
                    v.front().stream().mapToDouble(e -> e.averageBits()).max().orElse(0));

            System.out.println("\n== 4/5 " + devices + " simulated devices announce their capabilities");
            List<DeviceCapabilities> fleet = SimulatedFleet.devices(devices, v.front(), seed);
            FleetRollout.Result r = FleetRollout.run(stack, observer, fleet, true, Duration.ofMinutes(10), m -> System.out.println("   " + m));

            System.out.println("\n== 5/5 summary");
            System.out.printf("   %d devices: %d ready with their adapter, %d with no feasible configuration, %d still waiting%n",
                    r.devices(), r.ready(), r.unassignable(), r.waiting());
            System.out.println("   devices by assigned average bits:");
            int widest = r.byAverageBits().values().stream().mapToInt(Integer::intValue).max().orElse(1);
            for (Map.Entry<String, Integer> e : r.byAverageBits().entrySet()) {
                System.out.printf("     %s-%-5s %5d %s%n", e.getKey(), String.format("%.2f", Double.parseDouble(e.getKey()) + 0.25), e.getValue(),
                        "#".repeat(Math.max(1, 40 * e.getValue() / widest)));
            }
            r.unassignableReasons().forEach((why, n) -> System.out.printf("   no feasible configuration (%s): %d%n", why, n));
            if (r.exampleReason() != null) System.out.println("   e.g. " + r.exampleReason());
            if (r.exampleInfeasibleReason() != null) System.out.println("   e.g. " + r.exampleInfeasibleReason());
            System.out.printf("   adapters generated: %d packages (one per distinct configuration), %d files downloaded and sha256-verified%n",
                    r.distinctConfigurations(), r.filesVerified());
            System.out.printf("   largest device download: %.1f MB (packed base + adapter; no full-precision matrices)%n", r.bytesPerDeviceMax() / 1e6);
            System.out.printf("   fleet answered in %.1f s (capabilities published -> last adapter ready); whole demo %.0f s%n",
                    r.lastAnswerSeconds(), (System.nanoTime() - t0) / 1e9);
            System.out.println("\n   registry API:  " + stack.registryUrl() + "/api/fleet/summary");
            System.out.println("                  " + stack.registryUrl() + "/api/devices?status=ready");
            System.out.println("   OpenAPI:       " + stack.registryUrl() + "/openapi");
            if (r.waiting() > 0) return 1;
            if (!exit) {
                System.out.println("\nThe system keeps running; press Ctrl-C to stop it.");
                // Ctrl-C runs this hook: services stop cleanly, then the database and the broker
                Runtime.getRuntime().addShutdownHook(new Thread(() -> { observer.close(); stack.close(); }));
                new CountDownLatch(1).await();
            }
        }
        return 0;
    }
}
