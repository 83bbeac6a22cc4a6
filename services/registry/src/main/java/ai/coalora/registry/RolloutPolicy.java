package ai.coalora.registry;

import com.fasterxml.jackson.annotation.JsonValue;

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
            return EnumNames.find(values(), OnWaveSuccess::sql, sql)
                    .orElseThrow(() -> ApiException.badRequest(
                            "onWaveSuccess must be one of " + EnumNames.list(values(), OnWaveSuccess::sql)));
        }

        /** The policy the {@code rollouts.on_wave_success} column holds (its check constraint admits no other). */
        static OnWaveSuccess column(String sql) {
            return EnumNames.find(values(), OnWaveSuccess::sql, sql)
                    .orElseThrow(() -> new IllegalStateException("rollouts.on_wave_success holds " + sql));
        }
    }

    /** After a wave fails (error threshold or quality gate): pause, abort and keep, or abort and revert. */
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
            return EnumNames.find(values(), OnFailure::sql, sql)
                    .orElseThrow(() -> ApiException.badRequest(
                            "onFailure must be one of " + EnumNames.list(values(), OnFailure::sql)));
        }

        /** The policy the {@code rollouts.on_failure} column holds (its check constraint admits no other). */
        static OnFailure column(String sql) {
            return EnumNames.find(values(), OnFailure::sql, sql)
                    .orElseThrow(() -> new IllegalStateException("rollouts.on_failure holds " + sql));
        }
    }
}
