package ai.coalora.registry;

import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;

/** What an operator can do to a rollout, with the states each action is allowed from. */
public enum RolloutAction {
    PAUSE("pause", EnumSet.of(RolloutState.RUNNING)),
    RESUME("resume", EnumSet.of(RolloutState.PAUSED)),
    ABORT("abort", EnumSet.of(RolloutState.RUNNING, RolloutState.PAUSED)),
    RETRY_FAILED("retry-failed", EnumSet.of(RolloutState.RUNNING, RolloutState.PAUSED));

    private final String path;
    private final Set<RolloutState> allowedFrom;

    RolloutAction(String path, Set<RolloutState> allowedFrom) {
        this.path = path;
        this.allowedFrom = allowedFrom;
    }

    /** The name in the API path, {@code POST /api/rollouts/{id}/{action}}. */
    public String path() {
        return path;
    }

    /** The states this action is allowed from. */
    public Set<RolloutState> allowedFrom() {
        return allowedFrom;
    }

    /** 409 unless the action is allowed from {@code state}. */
    public void requireAllowedFrom(String rolloutId, RolloutState state) throws ApiException {
        if (!allowedFrom.contains(state)) {
            throw ApiException.conflict("rollout " + rolloutId + " is " + state.sql() + "; " + path + " needs it "
                    + allowedFrom.stream().map(RolloutState::sql).collect(Collectors.joining(" or ")));
        }
    }

    /** The action an API path names; 400 for any other. */
    public static RolloutAction of(String path) throws ApiException {
        return EnumNames.find(values(), RolloutAction::path, path)
                .orElseThrow(() -> ApiException.badRequest(
                        "unknown action " + path + " (" + EnumNames.list(values(), RolloutAction::path) + ")"));
    }
}
