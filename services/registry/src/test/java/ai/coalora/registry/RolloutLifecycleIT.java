package ai.coalora.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceStatus;
import ai.coalora.fleet.events.Payloads.EvaluationTelemetry;
import ai.coalora.fleet.infra.TestDatabase;
import ai.coalora.fleet.planning.QualityMeasure;
import ai.coalora.registry.Rollouts.Action;
import ai.coalora.registry.Rollouts.Plan;
import ai.coalora.registry.Rollouts.Rollout;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every rollout transition, and every refused one, driven the way the registry drives them (operator calls on
 * {@link Rollouts}, device events through {@link RolloutEngine}) against a real PostgreSQL with the registry's
 * migrations. No broker: what the engine publishes lands in the outbox table, where these tests read it.
 */
class RolloutLifecycleIT {
    static RegistryTestDatabase db;
    static Rollouts rollouts;

    @BeforeAll
    static void start() throws Exception {
        db = RegistryTestDatabase.start();
        rollouts = new Rollouts(db.dataSource, new RegistryService(null));
    }

    @AfterAll
    static void stop() {
        if (db != null) db.close();
    }

    @Test
    void wavesAdvanceOnSuccessAndTheLastOneEndsTheRollout() throws Exception {
        String version = version();
        List<String> devices = devices(4);
        Rollout r = rollouts.create(plan(version, devices, List.of(0.5, 0.5), null, null));
        assertEquals(RolloutState.RUNNING, r.state());
        assertEquals(1, r.currentWave());
        assertEquals(2, r.progress().get(0).targeted());
        assertEquals(2, r.progress().get(1).scheduled());
        assertEquals(List.of("created", "wave 1 of 2 started"), reasons(r, 2));
        assertNull(r.transitions().get(0).from(), "the first transition is the creation");
        assertEquals(2, targetsPublished(r.rolloutId()), "wave 1's devices were sent the version");

        finish(version, devices.get(0), 0.9);
        assertEquals(1, rollouts.find(r.rolloutId()).orElseThrow().currentWave(), "half a wave is not a success");
        finish(version, devices.get(1), 0.9);
        r = rollouts.find(r.rolloutId()).orElseThrow();
        assertEquals(2, r.currentWave(), "wave 1 succeeded: wave 2 started");
        assertEquals(RolloutState.RUNNING, r.state());
        assertEquals(4, targetsPublished(r.rolloutId()));

        finish(version, devices.get(2), 0.9);
        finish(version, devices.get(3), 0.9);
        r = rollouts.find(r.rolloutId()).orElseThrow();
        assertEquals(RolloutState.SUCCEEDED, r.state());
        assertTrue(last(r).reason().contains("all 2 waves done"), last(r).reason());
        assertEquals("threshold:success", last(r).actor());

        // a final state refuses every operator action, and nothing changes
        for (String action : List.of("pause", "resume", "abort", "retry-failed")) {
            String id = r.rolloutId();
            ApiException e = assertThrows(
                    ApiException.class, () -> rollouts.act(id, action, new Action("alice", "too late", null)), action);
            assertEquals(ApiException.Status.CONFLICT, e.status(), action);
        }
        assertEquals(
                r.transitions().size(),
                rollouts.find(r.rolloutId()).orElseThrow().transitions().size());
    }

    @Test
    void operatorsPauseResumeAndAbortAndEveryRefusalSaysWhy() throws Exception {
        String version = version();
        List<String> devices = devices(2);
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, null))
                .rolloutId();

        Rollout paused = rollouts.act(id, "pause", new Action("alice", "hold on", null));
        assertEquals(RolloutState.PAUSED, paused.state());
        assertEquals("operator:alice", last(paused).actor());
        assertEquals("hold on", last(paused).reason());
        assertEquals(RolloutState.RUNNING, last(paused).from());
        assertEquals(
                ApiException.Status.CONFLICT,
                assertThrows(ApiException.class, () -> rollouts.act(id, "pause", new Action("alice", null, null)))
                        .status());

        Rollout resumed = rollouts.act(id, "resume", new Action("bob", "go on", null));
        assertEquals(RolloutState.RUNNING, resumed.state(), "the wave is not concluded: it runs on");
        assertEquals(
                ApiException.Status.CONFLICT,
                assertThrows(ApiException.class, () -> rollouts.act(id, "resume", new Action("bob", null, null)))
                        .status());

        assertEquals(
                ApiException.Status.BAD_REQUEST,
                assertThrows(ApiException.class, () -> rollouts.act(id, "explode", new Action("bob", null, null)))
                        .status());
        assertEquals(
                ApiException.Status.BAD_REQUEST,
                assertThrows(ApiException.class, () -> rollouts.act(id, "pause", new Action(null, null, null)))
                        .status());
        assertEquals(
                ApiException.Status.NOT_FOUND,
                assertThrows(ApiException.class, () -> rollouts.act("r-none", "pause", new Action("bob", null, null)))
                        .status());
        int before = rollouts.find(id).orElseThrow().transitions().size();
        assertEquals(
                ApiException.Status.BAD_REQUEST,
                assertThrows(ApiException.class, () -> rollouts.act(id, "abort", new Action("bob", null, "sideways")))
                        .status());
        assertEquals(before, rollouts.find(id).orElseThrow().transitions().size(), "a refused action leaves no trace");

        Rollout aborted = rollouts.act(id, "abort", new Action("bob", "wrong version", "keep"));
        assertEquals(RolloutState.ABORTED, aborted.state());
        assertTrue(
                last(aborted).reason().startsWith("wrong version"),
                last(aborted).reason());
    }

    @Test
    void theErrorThresholdPausesAndRetryingTheFailedDevicesRunsTheWaveAgain() throws Exception {
        String version = version();
        List<String> devices = devices(2);
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, "pause"))
                .rolloutId();
        fail(version, devices.get(0));
        Rollout r = rollouts.find(id).orElseThrow();
        assertEquals(RolloutState.PAUSED, r.state());
        assertEquals("threshold:error", last(r).actor());

        r = rollouts.act(id, "retry-failed", new Action("alice", "flaky network", null));
        assertEquals(RolloutState.RUNNING, r.state());
        assertEquals(2, r.progress().get(0).targeted(), "the failed device is targeted again");
        assertTrue(last(r).reason().startsWith("retrying 1 failed devices"), last(r).reason());
        assertEquals(3, targetsPublished(id));
    }

    @Test
    void anOperatorWhoResumesAConcludedLastWaveAcceptsItAndTheRolloutSucceeds() throws Exception {
        String version = version();
        List<String> devices = devices(2);
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, "pause"))
                .rolloutId();
        fail(version, devices.get(1));
        finish(version, devices.get(0), 0.9); // recorded while paused; the wave is now concluded
        assertEquals(RolloutState.PAUSED, rollouts.find(id).orElseThrow().state());
        Rollout r = rollouts.act(id, "resume", new Action("alice", "one failure is acceptable", null));
        assertEquals(RolloutState.SUCCEEDED, r.state());
        assertEquals(RolloutState.PAUSED, last(r).from());
        assertEquals("operator:alice", last(r).actor());
    }

    @Test
    void theErrorThresholdAbortsAndKeepsWhenTheRolloutSaysSo() throws Exception {
        String version = version();
        List<String> devices = devices(2);
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, "abort-keep"))
                .rolloutId();
        fail(version, devices.get(0));
        assertEquals(RolloutState.ABORTED, rollouts.find(id).orElseThrow().state());
    }

    @Test
    void abortAndRevertSendsMovedDevicesBackAndEndsRevertedWhenTheyAreBack() throws Exception {
        String version = version();
        List<String> devices = devices(2);
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, "abort-revert"))
                .rolloutId();
        finish(version, devices.get(0), 0.9);
        fail(version, devices.get(1));
        Rollout r = rollouts.find(id).orElseThrow();
        assertEquals(RolloutState.REVERTING, r.state());
        assertEquals(1, r.progress().get(0).reverting(), "the device that moved is sent back");
        assertEquals(1, r.progress().get(0).reverted(), "the device that never moved is back already");

        status(devices.get(0), "the-previous-version", DeviceStatus.APPLIED);
        r = rollouts.find(id).orElseThrow();
        assertEquals(RolloutState.REVERTED, r.state());
        assertEquals(RolloutState.REVERTING, last(r).from());
    }

    @Test
    void theAccuracyGateStopsAWaveWhoseDevicesMeasureFarBelowThePrediction() throws Exception {
        String version = version();
        List<String> devices = devices(2);
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, null))
                .rolloutId();
        finish(version, devices.get(0), 0.5); // predicted 0.9, margin 0.05
        Rollout r = rollouts.find(id).orElseThrow();
        assertEquals(RolloutState.PAUSED, r.state());
        assertEquals("gate:accuracy", last(r).actor());
    }

    @Test
    void aPerplexityVersionsGateComparesTheRatioAboveThePrediction() throws Exception {
        // predicted perplexity 80 for every device, margin 0.05: at most 84 passes
        String version = db.version(QualityMeasure.PERPLEXITY);
        List<String> devices = devices(2);
        for (String d : devices) exec("update devices set predicted_quality = 80 where device_id = ?", d);
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, null))
                .rolloutId();
        assertEquals(QualityMeasure.PERPLEXITY, rollouts.find(id).orElseThrow().measure());
        finishMeasuring(version, devices.get(0), QualityMeasure.PERPLEXITY, 86.0); // 7.5% above
        Rollout r = rollouts.find(id).orElseThrow();
        assertEquals(RolloutState.PAUSED, r.state(), "7.5% above the prediction trips a 5% margin");
        assertEquals("gate:perplexity", last(r).actor());
        assertTrue(last(r).reason().startsWith("perplexity gate: wave 1 measured 86.0000"), last(r).reason());
        assertTrue(last(r).reason().contains("7.5% above the predicted 80.0000 (margin 5.0%)"), last(r).reason());
        assertEquals(80.0, r.progress().get(0).predictedQuality(), 1e-9);
        assertEquals(86.0, r.progress().get(0).measuredQuality(), 1e-9);

        // a lower perplexity than predicted is better, not a shortfall: the same numbers as accuracy would trip
        String better = db.version(QualityMeasure.PERPLEXITY);
        List<String> more = devices(2);
        for (String d : more) exec("update devices set predicted_quality = 80 where device_id = ?", d);
        String ok =
                rollouts.create(plan(better, more, List.of(1.0), null, null)).rolloutId();
        finishMeasuring(better, more.get(0), QualityMeasure.PERPLEXITY, 60.0);
        finishMeasuring(better, more.get(1), QualityMeasure.PERPLEXITY, 83.0); // 3.75% above, within the margin
        Rollout done = rollouts.find(ok).orElseThrow();
        assertEquals(RolloutState.SUCCEEDED, done.state(), done.transitions().toString());
        assertTrue(
                done.transitions().stream().anyMatch(t -> t.reason().contains("measured perplexity 71.5000")),
                done.transitions().toString());
    }

    @Test
    void pauseOnWaveSuccessWaitsForAnOperatorWhoseResumeStartsTheNextWave() throws Exception {
        String version = version();
        List<String> devices = devices(2);
        String id = rollouts.create(plan(version, devices, List.of(0.5, 0.5), "pause", null))
                .rolloutId();
        finish(version, devices.get(0), 0.9);
        Rollout r = rollouts.find(id).orElseThrow();
        assertEquals(RolloutState.PAUSED, r.state());
        assertEquals(1, r.currentWave());
        r = rollouts.act(id, "resume", new Action("alice", "looks good", null));
        assertEquals(RolloutState.RUNNING, r.state());
        assertEquals(2, r.currentWave());
        assertEquals(1, r.progress().get(1).targeted());
    }

    @Test
    void theEngineRefusesAMoveTheTableDoesNotHold() throws Exception {
        String version = version();
        String id = rollouts.create(plan(version, devices(1), List.of(1.0), null, null))
                .rolloutId();
        rollouts.act(id, "abort", new Action("alice", "stop", "keep"));
        try (Connection c = db.dataSource.getConnection()) {
            c.setAutoCommit(false);
            RolloutEngine.State aborted = RolloutEngine.lock(c, id);
            assertThrows(
                    IllegalStateException.class,
                    () -> RolloutEngine.setState(c, aborted, RolloutState.RUNNING, 1, "test", "revive"));
            c.rollback();
        }
        assertEquals(RolloutState.ABORTED, rollouts.find(id).orElseThrow().state());
    }

    @Test
    void aRevertHandsADeviceThatFollowedTheAliasBackToItAndAPinnedOneBackToItsVersion() throws Exception {
        String version = version(), pinnedTo = version();
        List<String> devices = devices(3);
        exec("update devices set target_version = ? where device_id = ?", pinnedTo, devices.get(2));
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, "abort-revert"))
                .rolloutId();
        finish(version, devices.get(0), 0.9);
        finish(version, devices.get(2), 0.9);
        fail(version, devices.get(1));
        assertEquals(RolloutState.REVERTING, rollouts.find(id).orElseThrow().state());
        assertNull(lastTarget(devices.get(0)), "it followed the alias before: handed back to the alias, not pinned");
        assertNull(targetVersion(devices.get(0)));
        assertEquals(pinnedTo, lastTarget(devices.get(2)), "it was pinned before: pinned back");
        assertEquals(pinnedTo, targetVersion(devices.get(2)));
    }

    @Test
    void afterASuccessfulRolloutTheNextPromotionOfProductionMovesItsDevicesToo() throws Exception {
        String version = version(), next = db.versionWithFront(), pinnedTo = version();
        List<String> devices = devices(3);
        exec("update devices set target_version = ? where device_id = ?", pinnedTo, devices.get(2));
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, null))
                .rolloutId();
        for (String d : devices) finish(version, d, 0.9);
        assertEquals(RolloutState.SUCCEEDED, rollouts.find(id).orElseThrow().state());
        for (String d : devices) assertEquals(version, targetVersion(d), "pinned to the rolled-out version for now");

        ModelVersions versions = new ModelVersions(db.dataSource, null, new RegistryService(null));
        versions.promote("canary", new ModelVersions.Promotion(next, "alice", "try it"));
        assertEquals(version, targetVersion(devices.get(0)), "another alias moving changes nothing");

        versions.promote(RolloutEngine.FOLLOWED_ALIAS, new ModelVersions.Promotion(next, "alice", "next release"));
        for (String d : devices.subList(0, 2)) {
            assertNull(targetVersion(d), d + " follows production again");
            assertNull(lastTarget(d), d + " was told so");
        }
        assertEquals(version, targetVersion(devices.get(2)), "pinned before the rollout: stays pinned");
    }

    /**
     * Status events of a wave's devices, each in its own transaction as the fleet handler applies them, race an
     * operator's abort-and-revert of the same rollout. The handler must lock the rollout before the devices' rows, as
     * the operator's action does, or the database aborts one of them as a deadlock (an error event, or a 500).
     */
    @Test
    void anAbortRevertRacingStatusEventsNeitherDeadlocksNorFails() throws Exception {
        String version = version();
        List<String> devices = devices(40);
        String id = rollouts.create(plan(version, devices, List.of(1.0), null, null))
                .rolloutId();
        RegistryMetrics metrics = new RegistryMetrics(db.dataSource, new SimpleMeterRegistry());
        FleetEventsHandler handler =
                new FleetEventsHandler(new RetrainingMonitor(0.05, 3, 0.5, 3, metrics), metrics, device -> {});
        CountDownLatch someApplied = new CountDownLatch(8);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<?>> statuses = new ArrayList<>();
            for (List<String> half : List.of(devices.subList(0, 20), devices.subList(20, 40))) {
                statuses.add(pool.submit(() -> {
                    for (String d : half) {
                        exec("update devices set update_version = ? where device_id = ?", version, d);
                        CloudEvent e = CloudEvent.create(
                                "/test",
                                EventTypes.DEVICE_STATUS,
                                d,
                                null,
                                Payloads.toJson(new DeviceStatus(
                                        d,
                                        "a-1",
                                        version,
                                        "c1",
                                        "0".repeat(64),
                                        DeviceStatus.APPLIED,
                                        "ok",
                                        Instant.now())));
                        inTransaction(tx -> {
                            handler.begin(List.of(e), tx);
                            handler.apply(e, tx);
                        });
                        someApplied.countDown();
                    }
                    return null;
                }));
            }
            Future<Rollout> abort = pool.submit(() -> {
                someApplied.await();
                return rollouts.act(id, "abort", new Action("alice", "stop", "revert"));
            });
            for (Future<?> f : statuses) f.get(120, TimeUnit.SECONDS); // a detected deadlock surfaces here (40P01)
            RolloutState after = abort.get(120, TimeUnit.SECONDS).state();
            assertTrue(after == RolloutState.REVERTING || after == RolloutState.REVERTED, after.toString());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(
                0L,
                ((Number) db.value(
                                "select count(*) from rollout_devices where rollout_id = ? and state in ('targeted', 'finished', 'failed')",
                                id))
                        .longValue(),
                "every device is reverting or reverted");
    }

    // ---- fixtures: a registered version, devices that run something, and the events devices send ----

    static Plan plan(String version, List<String> devices, List<Double> waves, String onWaveSuccess, String onFailure) {
        // success: every device of a wave; error: more than 10% failed once one executed; gate: 5 points below the
        // prediction
        return new Plan(version, devices, waves, 1.0, 0.1, 1, 0.05, onWaveSuccess, onFailure, "alice");
    }

    static String version() throws SQLException {
        return db.version();
    }

    static List<String> devices(int n) throws SQLException {
        return db.devices(n);
    }

    /** The device applied the version (as the fleet handler records it) and measured {@code accuracy} on it. */
    static void finish(String version, String device, double accuracy) throws Exception {
        exec("update devices set update_status = 'applied', update_version = ? where device_id = ?", version, device);
        status(device, version, DeviceStatus.APPLIED);
        inTransaction(tx -> RolloutEngine.onTelemetry(
                tx,
                EvaluationTelemetry.accuracy(
                        device, version, "c1", "0".repeat(64), accuracy, 100, 1.0, 1000, Instant.now())));
    }

    /** The device applied the version and measured {@code value} in {@code measure} on it. */
    static void finishMeasuring(String version, String device, QualityMeasure measure, double value) throws Exception {
        exec("update devices set update_status = 'applied', update_version = ? where device_id = ?", version, device);
        status(device, version, DeviceStatus.APPLIED);
        inTransaction(tx -> RolloutEngine.onTelemetry(
                tx,
                new EvaluationTelemetry(
                        device, version, "c1", "0".repeat(64), measure, value, 4096, 1.0, 1000, Instant.now(), 40.0)));
    }

    static void fail(String version, String device) throws Exception {
        status(device, version, DeviceStatus.FAILED);
    }

    static void status(String device, String version, String status) throws Exception {
        inTransaction(tx -> RolloutEngine.onStatus(
                tx, new DeviceStatus(device, "a-1", version, "c1", "0".repeat(64), status, "test", Instant.now())));
    }

    static void inTransaction(TestDatabase.Work work) throws Exception {
        db.inTransaction(work);
    }

    static void exec(String sql, Object... params) throws SQLException {
        db.exec(sql, params);
    }

    /** The version the latest device.target in the outbox sends {@code device} to; null: back to the alias. */
    static String lastTarget(String device) throws SQLException {
        Object v = db.value(
                "select convert_from(value, 'UTF8')::jsonb->>'modelVersion' from outbox where topic = 'coalora.device.targets' "
                        + "and record_key = ? order by seq desc limit 1",
                device);
        return (String) v;
    }

    static String targetVersion(String device) throws SQLException {
        return (String) db.value("select target_version from devices where device_id = ?", device);
    }

    /** device.target records the rollout put in the outbox. */
    static int targetsPublished(String rolloutId) throws SQLException {
        return ((Number) db.value(
                        "select count(*) from outbox where topic = 'coalora.device.targets' and convert_from(value, 'UTF8') like ?",
                        "%" + rolloutId + "%"))
                .intValue();
    }

    static Rollouts.Transition last(Rollout r) {
        return r.transitions().get(r.transitions().size() - 1);
    }

    static List<String> reasons(Rollout r, int n) {
        return r.transitions().subList(0, n).stream()
                .map(t -> t.reason().replaceAll(" for \\d+ devices in \\d+ waves", ""))
                .toList();
    }
}
