package ai.coalora.fleet.events;

/** CloudEvents {@code type} of every event; each has a JSON Schema {@code schemas/<type>.schema.json}. */
public final class EventTypes {
    public static final String CAPABILITIES = "ai.coalora.device.capabilities";
    public static final String ASSIGNMENT = "ai.coalora.assignment";
    public static final String ADAPTER_READY = "ai.coalora.adapter.ready";
    public static final String TELEMETRY = "ai.coalora.telemetry.evaluation";
    public static final String MODEL_REGISTERED = "ai.coalora.model.registered";
    public static final String MODEL_PROMOTED = "ai.coalora.model.promoted";
    public static final String RETRAINING_REQUESTED = "ai.coalora.retraining.requested";
    public static final String DEVICE_STATUS = "ai.coalora.device.status";
    public static final String DEVICE_TARGET = "ai.coalora.device.target";

    private EventTypes() {}
}
