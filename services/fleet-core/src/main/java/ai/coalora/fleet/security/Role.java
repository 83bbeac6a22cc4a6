package ai.coalora.fleet.security;

import java.util.Locale;
import java.util.Set;

/**
 * Who may do what. Each role includes the ones below it: a viewer reads; an operator also acts on rollouts,
 * uploads artifacts and registers versions; an admin also moves aliases (promotes versions) and reads the
 * audit log.
 */
public enum Role {
    VIEWER,
    OPERATOR,
    ADMIN;
    public static final String VIEWER_NAME = "viewer", OPERATOR_NAME = "operator", ADMIN_NAME = "admin";

    public String roleName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The role names a user with this role holds (its own and every lower one). */
    public Set<String> grantedRoleNames() {
        return switch (this) {
            case VIEWER -> Set.of(VIEWER_NAME);
            case OPERATOR -> Set.of(VIEWER_NAME, OPERATOR_NAME);
            case ADMIN -> Set.of(VIEWER_NAME, OPERATOR_NAME, ADMIN_NAME);
        };
    }

    public static Role parse(String s) {
        for (Role r : values()) if (r.roleName().equals(s)) return r;
        throw new IllegalArgumentException("unknown role '" + s + "' (viewer, operator or admin)");
    }
}
