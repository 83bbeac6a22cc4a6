package ai.coalora.registry;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where a rollout is in its lifecycle, and the one table of the moves between states. Every state change of a
 * rollout goes through {@link #canMoveTo}; the names are the values in the {@code rollouts.state} column and on the
 * API.
 *
 * <pre>
 *   (created) -> running
 *   running   -> running (a wave starts or is accepted), paused, succeeded, aborted, reverting
 *   paused    -> paused (a wave is accepted), running, succeeded (the last wave is accepted), aborted, reverting
 *   reverting -> reverted
 *   succeeded, aborted, reverted: final
 * </pre>
 */
public enum RolloutState {
    RUNNING,
    PAUSED,
    SUCCEEDED,
    ABORTED,
    REVERTING,
    REVERTED;

    private static final Map<RolloutState, Set<RolloutState>> MOVES = new EnumMap<>(RolloutState.class);

    static {
        MOVES.put(RUNNING, EnumSet.of(RUNNING, PAUSED, SUCCEEDED, ABORTED, REVERTING));
        MOVES.put(PAUSED, EnumSet.of(PAUSED, RUNNING, SUCCEEDED, ABORTED, REVERTING));
        MOVES.put(REVERTING, EnumSet.of(REVERTED));
        MOVES.put(SUCCEEDED, EnumSet.noneOf(RolloutState.class));
        MOVES.put(ABORTED, EnumSet.noneOf(RolloutState.class));
        MOVES.put(REVERTED, EnumSet.noneOf(RolloutState.class));
    }

    /** The state a new rollout starts in. */
    public static final RolloutState INITIAL = RUNNING;

    /** The column and API value. */
    @JsonValue
    public String sql() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean canMoveTo(RolloutState to) {
        return MOVES.get(this).contains(to);
    }

    public boolean isFinal() {
        return MOVES.get(this).isEmpty();
    }

    /** The state a column value names. */
    public static RolloutState of(String sql) {
        return EnumNames.find(values(), RolloutState::sql, sql)
                .orElseThrow(() -> new IllegalArgumentException("not a rollout state: " + sql));
    }
}
