package ai.coalora.cli;

import ai.coalora.engine.CacheDir;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.planning.ParetoSelection;
import ai.coalora.fleet.sim.FleetBundle;
import ai.coalora.fleet.sim.FleetObserver;
import ai.coalora.fleet.sim.FleetRollout;
import ai.coalora.fleet.sim.FleetStack;
import ai.coalora.fleet.sim.ModelPublisher;
import ai.coalora.fleet.sim.SimulatedFleet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Fleet benchmark: the planner's decision rate on one core (against a naive per-device filter-and-sort in
 * the same process), then the whole system from capability events to adapters ready for a large fleet.
 */
@Command(
        name = "fleet",
        mixinStandardHelpOptions = true,
        description =
                "Planner decisions per second per core (ratio against a naive selection in the same process) and the end-to-end "
                        + "time from capability events to adapters ready for a simulated fleet on the real system (goals: >= 50k decisions/s/core, "
                        + "<= 60 s for 10,000 devices).")
final class BenchFleetCommand implements Callable<Integer> {
    @Option(
            names = "--devices",
            defaultValue = "10000",
            description = "Devices of the end-to-end run (default: ${DEFAULT-VALUE}).")
    int devices;

    @Option(
            names = "--decisions",
            defaultValue = "2000000",
            description = "Decisions timed on one thread (default: ${DEFAULT-VALUE}).")
    int decisions;

    @Option(names = "--bundle", description = "Model bundle to plan with (default: the demo's).")
    Path bundle;

    @Override
    public Integer call() throws Exception {
        Path bundleDir = bundle != null ? bundle : FleetBundle.DEMO.ensure(new ProgressBar());
        Path work = Files.createDirectories(CacheDir.root().resolve("bench"))
                .resolve("fleet-" + System.currentTimeMillis());
        try (FleetStack stack = FleetStack.start(work, m -> System.out.println("  " + m));
                FleetObserver observer = new FleetObserver(stack.kafkaAdmin())) {
            ModelPublisher.Published v = ModelPublisher.registerAndPromote(
                    stack.registry(FleetStack.ADMIN_USER), bundleDir, "production", "bench", "fleet benchmark");
            List<DeviceCapabilities> fleet = SimulatedFleet.devices(devices, v.front(), 3);

            System.out.printf(
                    "%n== planner decisions on one thread (front of %d configurations, %d distinct devices)%n",
                    v.front().size(), fleet.size());
            ParetoSelection selection = new ParetoSelection(
                    new ModelPromoted("production", v.modelVersion(), null, "bench", "bench", v.front()));
            double naive = rate(fleet, Math.max(decisions / 10, 1), d -> naiveDecision(v.front(), d));
            double ours = rate(fleet, decisions, selection::decide);
            System.out.printf("  naive (filter + sort + format per device): %,12.0f decisions/s%n", naive);
            System.out.printf(
                    "  ParetoSelection (sorted once, first fit):  %,12.0f decisions/s   %.1fx naive   goal >= 50,000/s/core: %s%n",
                    ours, ours / naive, ours >= 50_000 ? "met" : "NOT met");

            System.out.printf(
                    "%n== end to end: %d devices publish capabilities -> assignment -> adapter ready%n", fleet.size());
            Map<String, String> tokens =
                    stack.enrol(fleet.stream().map(DeviceCapabilities::deviceId).toList());
            FleetRollout.Result r = FleetRollout.run(
                    stack, observer, tokens, fleet, false, Duration.ofMinutes(15), m -> System.out.println("  " + m));
            System.out.printf(
                    "  %d ready, %d with no feasible configuration, %d waiting; %d configurations generated%n",
                    r.ready(), r.unassignable(), r.waiting(), r.distinctConfigurations());
            System.out.printf(
                    "  last adapter ready after %.1f s (%.0f devices/s)   goal <= 60 s: %s%n",
                    r.lastAnswerSeconds(),
                    fleet.size() / Math.max(r.lastAnswerSeconds(), 1e-9),
                    r.waiting() == 0 && r.lastAnswerSeconds() <= 60 ? "met" : "NOT met");
            return r.waiting() == 0 ? 0 : 1;
        }
    }

    interface Decide {
        Object apply(DeviceCapabilities d);
    }

    static double rate(List<DeviceCapabilities> fleet, int n, Decide decide) {
        for (int i = 0; i < Math.min(n, 200_000); i++) decide.apply(fleet.get(i % fleet.size())); // warm-up
        long sink = 0, t0 = System.nanoTime();
        for (int i = 0; i < n; i++)
            sink += decide.apply(fleet.get(i % fleet.size())).hashCode();
        double s = (System.nanoTime() - t0) / 1e9;
        if (sink == 42) System.out.print("");
        return n / s;
    }

    /** The obvious implementation: every entry tested and sorted for every device, the reason formatted. */
    static String naiveDecision(List<FrontEntry> front, DeviceCapabilities d) {
        return front.stream()
                .filter(e -> d.weightBits().containsAll(e.weightBits()))
                .filter(e -> e.runtimeFormats().stream().anyMatch(d.runtimeFormats()::contains))
                .filter(e -> e.weightBytes() + e.adapterBytes() + d.overheadBytes() <= d.memoryBytes())
                .sorted(Comparator.comparingDouble(FrontEntry::predicted).reversed())
                .findFirst()
                .map(e -> String.format(
                        "best predicted fitting configuration: %.4f bits, predicted accuracy %.4f",
                        e.averageBits(), e.predicted()))
                .orElse("no feasible configuration");
    }
}
