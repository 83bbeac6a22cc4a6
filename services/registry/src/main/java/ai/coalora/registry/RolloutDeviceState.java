package ai.coalora.registry;

import java.util.Locale;

/**
 * Where one device is in a rollout: scheduled in a later wave, targeted (sent the version), finished or failed on it,
 * or reverting to and reverted to what it ran before. The names are the values in {@code rollout_devices.state}.
 */
public enum RolloutDeviceState {
    SCHEDULED,
    TARGETED,
    FINISHED,
    FAILED,
    REVERTING,
    REVERTED;

    /** The column value. */
    public String sql() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static RolloutDeviceState of(String sql) {
        return EnumNames.find(values(), RolloutDeviceState::sql, sql)
                .orElseThrow(() -> new IllegalArgumentException("not a rollout device state: " + sql));
    }
}
