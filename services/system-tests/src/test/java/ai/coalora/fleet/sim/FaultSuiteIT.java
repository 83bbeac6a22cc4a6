package ai.coalora.fleet.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/**
 * The short version of `./coalora bench faults` (40 devices, 1,000 hostile records): every fault of the full run,
 * and every goal checked, the servers' own counts of HTTP 500 answers and PostgreSQL deadlocks among them.
 */
class FaultSuiteIT {

    @Test
    void theFleetLosesNothingDuplicatesNothingAndRejectsEverythingHostileUnderFaults() throws Exception {
        FaultSuite.Report r = FaultSuite.run(
                Files.createTempDirectory("coalora-faults-"),
                FaultSuite.Settings.QUICK,
                m -> System.out.println("[faults] " + m));
        System.out.print(r.table());
        assertEquals(4 + 3 + 2 + 5 + 1 + 1 + 1 + 2 + 1, r.rows().size(), "a row per fault and the end");
        for (FaultSuite.Row row : r.rows()) {
            assertEquals(0, row.devicesLost(), row.fault() + ": devices lost");
            assertEquals(0, row.staleDevices(), row.fault() + ": devices whose registry state is not the newest");
            assertEquals(0, row.duplicateAssignments(), row.fault() + ": duplicate assignments");
            assertEquals(0, row.http500s(), row.fault() + ": HTTP 500 answers " + r.serverErrors());
            assertEquals(0, row.deadlocks(), row.fault() + ": PostgreSQL deadlocks");
            assertEquals(FleetStack.SERVICES.size(), row.servicesUp(), row.fault() + ": services ready");
            assertTrue(row.newDevicePlanned(), row.fault() + ": a new device is planned after it");
            if (row.sent() != null)
                assertEquals(
                        row.sent(),
                        row.deadLettered(),
                        row.fault() + ": every hostile record dead-lettered by every consumer");
            if (row.attempted() != null) {
                assertTrue(row.attempted() > 0, row.fault() + ": something was tried");
                assertEquals(
                        row.attempted(),
                        row.refused(),
                        row.fault()
                                + ": every unauthorized request refused (and every request during the database outage answered 503): "
                                + row.refusedBecause());
            }
            if (row.tamperedServed() != null) {
                assertTrue(row.tamperedServed() > 0, "the mirror tampered with something");
                assertEquals(row.tamperedServed(), row.tamperedRejected(), "every tampered file rejected");
            }
        }
        assertTrue(
                r.replaysSkipped() >= r.replayed() && r.replaysDeadLettered() == 0,
                "replays are skipped, not dead-lettered");
        assertEquals(0, r.deadLettersWithoutReason());
        assertEquals("succeeded", r.firstRolloutState(), "the rollout under faults completes");
        assertEquals("succeeded", r.secondRolloutState(), "the rollout through the tampering mirror completes");
        assertEquals(0, r.notOnPromoted(), "devices not on the version promoted under two planner replicas");
        assertTrue(r.secondPlannerDecisions() > 0, "the second planner replica planned nothing");
        assertEquals("reverted", r.revertState(), "the abort-revert racing status events completes");
        assertEquals(0, r.notReverted(), "devices the abort-revert did not bring back");
        assertTrue(r.goalsMet());
    }
}
