package ai.coalora.fleet.sim;

import ai.coalora.fleet.registry.RegistryClient;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Rollouts of the simulated devices, driven the way an operator would: started over the devices that run something,
 * a paused one resumed and a wave's failed devices retried until it ends.
 */
final class RolloutDriver {
    private final RegistryClient admin;
    private final FleetMeasures measures;
    private final Consumer<String> progress;

    RolloutDriver(RegistryClient admin, FleetMeasures measures, Consumer<String> progress) {
        this.admin = admin;
        this.measures = measures;
        this.progress = progress;
    }

    /**
     * A 4-wave rollout of the simulated devices that run something now (the probes have no agent: they never apply).
     */
    String start(String version) throws IOException {
        return start(version, List.of(0.1, 0.2, 0.3, 0.4));
    }

    String start(String version, List<Double> waves) throws IOException {
        List<String> running = measures.running().keySet().stream().sorted().toList();
        return admin.sendJson(
                        "POST",
                        "api/rollouts",
                        Map.of(
                                "modelVersion",
                                version,
                                "deviceIds",
                                running,
                                "waveFractions",
                                waves,
                                "successThreshold",
                                0.9,
                                "errorThreshold",
                                0.9,
                                "errorMinExecuted",
                                5,
                                "qualityMargin",
                                0.5,
                                "onFailure",
                                "pause"))
                .get("rolloutId")
                .asText();
    }

    /** Drives a rollout to its end the way an operator would: failed devices retried, a pause resumed. */
    String finish(String rolloutId, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String state = "unknown";
        while (System.nanoTime() < deadline) {
            JsonNode r = measures.get("api/rollouts/" + rolloutId);
            state = r == null ? "unknown" : r.get("state").asText();
            if (Set.of("succeeded", "aborted", "reverted").contains(state)) break;
            if (state.equals("paused")) act(rolloutId, "resume");
            else if (state.equals("running")
                    && waveSettled(r)
                    && currentWave(r).path("failed").asInt() > 0) act(rolloutId, "retry-failed");
            Thread.sleep(3000);
        }
        progress.accept("rollout " + rolloutId + ": " + state);
        return state;
    }

    void act(String rolloutId, String action) {
        try {
            admin.sendJson(
                    "POST", "api/rollouts/" + rolloutId + "/" + action, Map.of("reason", "fault suite: " + action));
        } catch (IOException e) {
            // a 409 when the state moved on meanwhile: the next look decides again
        }
    }

    static JsonNode currentWave(JsonNode rollout) {
        int wave = rollout.path("currentWave").asInt(1);
        JsonNode progress = rollout.path("progress");
        return progress.size() >= wave
                ? progress.get(wave - 1)
                : com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }

    /** Every device of the current wave has answered (finished or failed). */
    static boolean waveSettled(JsonNode rollout) {
        if (rollout == null) return false;
        JsonNode w = currentWave(rollout);
        return w.path("devices").asInt() > 0
                && w.path("finished").asInt() + w.path("failed").asInt()
                        >= w.path("devices").asInt();
    }
}
