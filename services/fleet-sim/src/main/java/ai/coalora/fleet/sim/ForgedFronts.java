package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.FileRef;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.events.Payloads.ModelRegistered;
import ai.coalora.fleet.schema.EventSchemas;
import java.time.Instant;
import java.util.List;

/**
 * Forged model events, as a leaked credential of the registry could write them onto the model topics: a promotion of
 * a version the alias never pointed at, the genuine promotion with an altered front, and a registration of a version
 * that does not exist. The planner reads fronts from the registry, never from these events, so it must dead-letter
 * each and re-plan nothing.
 */
final class ForgedFronts {
    private ForgedFronts() {}

    /** The three forged events, given the version the alias points at ({@code v1}) and another registered one. */
    static List<CloudEvent> events(ModelPublisher.Published v1, ModelPublisher.Published v2) {
        List<FrontEntry> altered = v1.front().stream()
                .map(e -> new FrontEntry(
                        e.configId(),
                        e.averageBits(),
                        e.measure(),
                        Math.min(1.0, e.predicted() + 0.05),
                        e.weightBits(),
                        e.runtimeFormats(),
                        e.weightBytes(),
                        e.adapterBytes(),
                        e.gguf()))
                .toList();
        String unknown = "f".repeat(64);
        return List.of(
                forged(
                        EventTypes.MODEL_PROMOTED,
                        "production",
                        new ModelPromoted(
                                "production", v2.modelVersion(), v1.modelVersion(), "mallory", "forged", v2.front())),
                forged(
                        EventTypes.MODEL_PROMOTED,
                        "production",
                        new ModelPromoted("production", v1.modelVersion(), null, "mallory", "altered front", altered)),
                forged(
                        EventTypes.MODEL_REGISTERED,
                        unknown,
                        new ModelRegistered(
                                unknown,
                                null,
                                "sentiment",
                                "mallory",
                                List.of(new FileRef("manifest.json", "e".repeat(64), 10)),
                                v1.front().size(),
                                Instant.now(),
                                null,
                                v1.front())));
    }

    private static CloudEvent forged(String type, String subject, Object payload) {
        return CloudEvent.create(
                "/coalora/registry", type, subject, EventSchemas.load().dataschema(type), Payloads.toJson(payload));
    }
}
