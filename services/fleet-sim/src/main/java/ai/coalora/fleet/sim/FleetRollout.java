package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * A simulated fleet announces itself and waits for what the system sends back: the demo and the fleet
 * benchmark. Counts a device as done when it holds an explicit "no feasible configuration" or the adapter
 * for its current assignment.
 */
public final class FleetRollout {
    /** What the fleet ended up with. */
    public record Result(
            int devices,
            int ready,
            int unassignable,
            int waiting,
            Map<String, Integer> byAverageBits,
            Map<String, Integer> unassignableReasons,
            int distinctConfigurations,
            int filesVerified,
            long bytesPerDeviceMax,
            double seconds,
            double lastAnswerSeconds,
            String exampleReason,
            String exampleInfeasibleReason) {}

    private FleetRollout() {}

    public static Result run(
            FleetStack stack,
            FleetObserver observer,
            List<DeviceCapabilities> devices,
            boolean verifyDownloads,
            Duration timeout,
            Consumer<String> progress)
            throws Exception {
        long t0 = System.nanoTime();
        try (KafkaProducer<String, byte[]> producer = SimulatedFleet.producer(stack.kafkaAdmin())) {
            for (DeviceCapabilities d : devices) SimulatedFleet.publish(producer, SimulatedFleet.event(d));
            producer.flush();
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        long lastReport = 0;
        int done;
        while (true) {
            done = (int)
                    devices.stream().filter(d -> done(observer, d.deviceId())).count();
            long now = System.nanoTime();
            if (done == devices.size() || now > deadline) break;
            if (now - lastReport > 2_000_000_000L) {
                progress.accept(String.format(
                        "%5.1f s: %d/%d devices answered (%d adapters ready)",
                        (now - t0) / 1e9,
                        done,
                        devices.size(),
                        observer.adapters().size()));
                lastReport = now;
            }
            Thread.sleep(20);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double lastAnswer = 0;
        Map<String, Integer> byBits = new TreeMap<>(), reasons = new TreeMap<>();
        Set<String> configs = new HashSet<>();
        int ready = 0, unassignable = 0;
        long maxBytes = 0;
        ArtifactVerifier verifier = new ArtifactVerifier(stack.credentials(FleetStack.DEVICES_USER), stack.rootKey());
        String example = null, exampleInfeasible = null;
        for (DeviceCapabilities d : devices) {
            List<Assignment> as = observer.assignmentsOf(d.deviceId());
            if (as.isEmpty()) continue;
            Assignment a = as.get(as.size() - 1);
            if (!a.feasible()) {
                if (exampleInfeasible == null) exampleInfeasible = d.deviceId() + ": " + a.reason();
                unassignable++;
                reasons.merge(reasonKind(a.reason()), 1, Integer::sum);
                continue;
            }
            AdapterReady r = observer.adaptersOf(d.deviceId()).stream()
                    .filter(x -> x.assignmentId().equals(a.assignmentId()))
                    .findFirst()
                    .orElse(null);
            if (r == null) continue;
            ready++;
            if (example == null && a.reason().contains("rejected")) example = d.deviceId() + ": " + a.reason();
            configs.add(a.configId());
            byBits.merge(String.format("%.2f", Math.floor(a.averageBits() * 4) / 4), 1, Integer::sum);
            Long at = observer.firstAdapterNanos(d.deviceId());
            if (at != null) lastAnswer = Math.max(lastAnswer, (at - t0) / 1e9);
            if (verifyDownloads) maxBytes = Math.max(maxBytes, verifier.verify(r));
        }
        return new Result(
                devices.size(),
                ready,
                unassignable,
                devices.size() - ready - unassignable,
                byBits,
                reasons,
                configs.size(),
                verifier.filesVerified(),
                maxBytes,
                seconds,
                lastAnswer,
                example,
                exampleInfeasible);
    }

    static boolean done(FleetObserver observer, String deviceId) {
        List<Assignment> as = observer.assignmentsOf(deviceId);
        if (as.isEmpty()) return false;
        Assignment last = as.get(as.size() - 1);
        return !last.feasible()
                || observer.adaptersOf(deviceId).stream()
                        .anyMatch(r -> r.assignmentId().equals(last.assignmentId()));
    }

    /** Groups "no feasible configuration" reasons by what excluded the configurations, without the numbers. */
    static String reasonKind(String reason) {
        StringBuilder kind = new StringBuilder();
        if (reason.contains("too large for its memory")) kind.append("memory");
        if (reason.contains("unsupported bit-widths"))
            kind.append(kind.isEmpty() ? "" : " + ").append("bit-widths");
        if (reason.contains("unsupported runtime format"))
            kind.append(kind.isEmpty() ? "" : " + ").append("runtime format");
        if (reason.contains("need GGUF types the device lacks"))
            kind.append(kind.isEmpty() ? "" : " + ").append("GGUF types");
        return kind.isEmpty() ? reason : kind.toString();
    }
}
