package ai.coalora.registry;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.stream.Collectors;

/** What a rollout does when a wave succeeds and when one fails; the names are the column and API values. */
public final class RolloutPolicy {
    private RolloutPolicy() {}

    /** After a wave succeeds (not the last one): start the next wave, or pause for an operator. */
    public enum OnWaveSuccess {
        NEXT_WAVE("next-wave"),
        PAUSE("pause");

        private final String sql;

        OnWaveSuccess(String sql) {
            this.sql = sql;
        }

        @JsonValue
        public String sql() {
            return sql;
        }

        /** The policy a request names; 400 for any other. */
        public static OnWaveSuccess of(String sql) throws ApiException {
            for (OnWaveSuccess p : values()) {
                if (p.sql.equals(sql)) return p;
            }
            throw ApiException.badRequest("onWaveSuccess must be one of "
                    + Arrays.stream(values()).map(OnWaveSuccess::sql).collect(Collectors.joining(", ")));
        }

        /** The policy the {@code rollouts.on_wave_success} column holds (its check constraint admits no other). */
        static OnWaveSuccess column(String sql) {
            for (OnWaveSuccess p : values()) {
                if (p.sql.equals(sql)) return p;
            }
            throw new IllegalStateException("rollouts.on_wave_success holds " + sql);
        }
    }

    /** After a wave fails (error threshold or accuracy gate): pause, abort and keep, or abort and revert. */
    public enum OnFailure {
        PAUSE("pause"),
        ABORT_KEEP("abort-keep"),
        ABORT_REVERT("abort-revert");

        private final String sql;

        OnFailure(String sql) {
            this.sql = sql;
        }

        @JsonValue
        public String sql() {
            return sql;
        }

        /** The policy a request names; 400 for any other. */
        public static OnFailure of(String sql) throws ApiException {
            for (OnFailure p : values()) {
                if (p.sql.equals(sql)) return p;
            }
            throw ApiException.badRequest("onFailure must be one of "
                    + Arrays.stream(values()).map(OnFailure::sql).collect(Collectors.joining(", ")));
        }

        /** The policy the {@code rollouts.on_failure} column holds (its check constraint admits no other). */
        static OnFailure column(String sql) {
            for (OnFailure p : values()) {
                if (p.sql.equals(sql)) return p;
            }
            throw new IllegalStateException("rollouts.on_failure holds " + sql);
        }
    }
}
