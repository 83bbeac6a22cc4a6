package ai.coalora.fleet.security;

import java.util.Locale;
import java.util.Set;

/**
 * Who may do what. Each role includes the ones below it: a viewer reads; an operator also acts on rollouts, uploads
 * artifacts, registers versions and enrols devices; an admin also moves aliases (promotes versions) and reads the audit
 * log. The trainer's role is an operator that may move one alias, {@value #CANARY}, and no other: a retrained version
 * goes to canary by itself, while production moves only by an admin's hand.
 */
public enum Role {
    VIEWER,
    OPERATOR,
    TRAINER,
    ADMIN;
    public static final String VIEWER_NAME = "viewer",
            OPERATOR_NAME = "operator",
            ADMIN_NAME = "admin",
            CANARY_PROMOTER_NAME = "canary-promoter";
    /** The only alias a trainer may move. */
    public static final String CANARY = "canary";

    public String roleName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The role names a user with this role holds (its own and every lower one). */
    public Set<String> grantedRoleNames() {
        return switch (this) {
            case VIEWER -> Set.of(VIEWER_NAME);
            case OPERATOR -> Set.of(VIEWER_NAME, OPERATOR_NAME);
            case TRAINER -> Set.of(VIEWER_NAME, OPERATOR_NAME, CANARY_PROMOTER_NAME);
            case ADMIN -> Set.of(VIEWER_NAME, OPERATOR_NAME, CANARY_PROMOTER_NAME, ADMIN_NAME);
        };
    }

    public static Role parse(String s) {
        for (Role r : values()) if (r.roleName().equals(s)) return r;
        throw new IllegalArgumentException("unknown role '" + s + "' (viewer, operator, trainer or admin)");
    }
}
