package ai.coalora.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.registry.RolloutPolicy.OnFailure;
import ai.coalora.registry.RolloutPolicy.OnWaveSuccess;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The rollout lifecycle's names live in three places besides the enums: the SQL check constraints, the dashboard and
 * the API. These tests fail when one of them drifts from the enums, and check the transition table's own promises.
 */
class RolloutNamesTest {

    @Test
    void theSqlCheckConstraintsAdmitExactlyTheEnumsValues() throws IOException {
        String sql = resource("db/registry/V4_0_2__rollouts.sql");
        assertEquals(names(RolloutState.values(), RolloutState::sql), checkList(sql, "rollouts", "state"));
        assertEquals(
                names(RolloutDeviceState.values(), RolloutDeviceState::sql),
                checkList(sql, "rollout_devices", "state"));
        assertEquals(names(OnWaveSuccess.values(), OnWaveSuccess::sql), checkList(sql, "rollouts", "on_wave_success"));
        assertEquals(names(OnFailure.values(), OnFailure::sql), checkList(sql, "rollouts", "on_failure"));
    }

    @Test
    void theDashboardNamesTheSameDeviceStatesAndOffersEachActionFromTheStatesItIsAllowedFrom() throws IOException {
        String js = resource("META-INF/resources/dashboard/app.js");
        Matcher parts = Pattern.compile("const WAVE_PARTS = \\[(.*?)\\];", Pattern.DOTALL)
                .matcher(js);
        assertTrue(parts.find(), "app.js defines WAVE_PARTS");
        Set<String> shown = new LinkedHashSet<>();
        Matcher key = Pattern.compile("\\['([a-z-]+)',").matcher(parts.group(1));
        while (key.find()) shown.add(key.group(1));
        assertEquals(new TreeSet<>(names(RolloutDeviceState.values(), RolloutDeviceState::sql)), new TreeSet<>(shown));

        Matcher button = Pattern.compile("\\{ id: '([a-z-]+)', label: '[^']*', states: \\[([^\\]]*)\\]")
                .matcher(js);
        Map<String, Set<String>> offered = new TreeMap<>();
        while (button.find()) {
            offered.put(
                    button.group(1),
                    Arrays.stream(button.group(2).split(","))
                            .map(s -> s.trim().replace("'", ""))
                            .collect(Collectors.toSet()));
        }
        assertEquals(
                Set.of("pause", "resume", "retry-failed", "abort-keep", "abort-revert"),
                offered.keySet(),
                "the dashboard's action buttons");
        for (Map.Entry<String, Set<String>> e : offered.entrySet()) {
            RolloutAction action;
            try {
                action = RolloutAction.of(e.getKey().startsWith("abort-") ? "abort" : e.getKey());
            } catch (ApiException x) {
                throw new AssertionError("the dashboard offers " + e.getKey() + ", which the API does not know", x);
            }
            assertEquals(
                    action.allowedFrom().stream().map(RolloutState::sql).collect(Collectors.toSet()),
                    e.getValue(),
                    e.getKey());
        }
    }

    @Test
    void theTransitionTableStartsRunningEndsInFinalStatesAndHoldsEveryOperatorMove() {
        assertEquals(RolloutState.RUNNING, RolloutState.INITIAL);
        for (RolloutState s : EnumSet.of(RolloutState.SUCCEEDED, RolloutState.ABORTED, RolloutState.REVERTED)) {
            assertTrue(s.isFinal(), s + " is final");
            for (RolloutState to : RolloutState.values()) assertFalse(s.canMoveTo(to), s + " -> " + to);
        }
        assertEquals(
                EnumSet.of(RolloutState.REVERTED),
                EnumSet.copyOf(Arrays.stream(RolloutState.values())
                        .filter(RolloutState.REVERTING::canMoveTo)
                        .toList()),
                "reverting only ends in reverted");
        // what each operator action does from each state it is allowed from is a move the table holds
        Map<RolloutAction, List<RolloutState>> results = Map.of(
                RolloutAction.PAUSE,
                List.of(RolloutState.PAUSED),
                RolloutAction.RESUME,
                List.of(RolloutState.RUNNING, RolloutState.PAUSED, RolloutState.SUCCEEDED),
                RolloutAction.ABORT,
                List.of(RolloutState.ABORTED, RolloutState.REVERTING),
                RolloutAction.RETRY_FAILED,
                List.of(RolloutState.RUNNING));
        for (RolloutAction a : RolloutAction.values()) {
            assertFalse(a.allowedFrom().isEmpty(), a + " is allowed from some state");
            for (RolloutState from : a.allowedFrom()) {
                for (RolloutState to : results.get(a)) assertTrue(from.canMoveTo(to), a + ": " + from + " -> " + to);
                assertFalse(from.isFinal(), a + " from a final state");
            }
        }
    }

    @Test
    void namesParseBackAndUnknownOnesAreClientErrors() throws ApiException {
        for (RolloutState s : RolloutState.values()) assertEquals(s, RolloutState.of(s.sql()));
        for (RolloutAction a : RolloutAction.values()) assertEquals(a, RolloutAction.of(a.path()));
        assertEquals(OnFailure.ABORT_REVERT, OnFailure.of("abort-revert"));
        assertEquals(
                ApiException.Status.BAD_REQUEST,
                assertThrowsApi(() -> RolloutAction.of("explode")).status());
        assertEquals(
                ApiException.Status.BAD_REQUEST,
                assertThrowsApi(() -> OnWaveSuccess.of("carry-on")).status());
        ApiException conflict =
                assertThrowsApi(() -> RolloutAction.RESUME.requireAllowedFrom("r-1", RolloutState.RUNNING));
        assertEquals(ApiException.Status.CONFLICT, conflict.status());
        assertEquals(409, conflict.status().code());
        assertEquals("rollout r-1 is running; resume needs it paused", conflict.getMessage());
    }

    interface ApiCall {
        void run() throws ApiException;
    }

    static ApiException assertThrowsApi(ApiCall call) {
        try {
            call.run();
        } catch (ApiException e) {
            return e;
        }
        throw new AssertionError("expected an ApiException");
    }

    /** The values of {@code column in (...)} in {@code table}'s create statement. */
    static Set<String> checkList(String sql, String table, String column) {
        Matcher create = Pattern.compile("create table " + table + " \\((.*?)\\n\\);", Pattern.DOTALL)
                .matcher(sql);
        assertTrue(create.find(), "create table " + table);
        Matcher check =
                Pattern.compile("check \\(" + column + " in \\(([^)]*)\\)\\)").matcher(create.group(1));
        assertTrue(check.find(), table + "." + column + " has a check constraint");
        return Arrays.stream(check.group(1).split(","))
                .map(s -> s.trim().replace("'", ""))
                .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    static <E> Set<String> names(E[] values, Function<E, String> name) {
        return Arrays.stream(values).map(name).collect(Collectors.toCollection(LinkedHashSet::new));
    }

    static String resource(String path) throws IOException {
        try (InputStream in = RolloutNamesTest.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) throw new IOException("no resource " + path);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
