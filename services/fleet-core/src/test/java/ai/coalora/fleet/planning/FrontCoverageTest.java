package ai.coalora.fleet.planning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrontCoverageTest {
    static final long DENSE = 1000, ADAPTER = 100, OVERHEAD = 50;

    /** Weight bytes of a model with 8,000 quantized weights and 1,000 dense bytes. */
    static FrontEntry entry(double bits, List<Integer> weightBits) {
        return new FrontEntry(
                "c" + bits,
                bits,
                QualityMeasure.ACCURACY,
                0.8,
                weightBits,
                List.of("coalora-packed"),
                DENSE + Math.round(1000 * bits),
                ADAPTER,
                null);
    }

    static final List<FrontEntry> FRONT = List.of(
            entry(2.5, List.of(2, 4)),
            entry(3.0, List.of(2, 3, 4)),
            entry(5.0, List.of(4, 8)),
            entry(6.0, List.of(4, 8)));

    static DeviceCapabilities device(double holdsBits, List<Integer> weightBits) {
        return new DeviceCapabilities(
                "d",
                DENSE + Math.round(1000 * holdsBits) + ADAPTER + OVERHEAD,
                weightBits,
                List.of("coalora-packed"),
                "low",
                OVERHEAD,
                null);
    }

    @Test
    void aDeviceBetweenDistantFrontPointsHasAGap() {
        FrontCoverage coverage = FrontCoverage.of(FRONT);
        assertEquals(1000, coverage.bytesPerBit(), 1e-6);
        FrontCoverage.Coverage c = coverage.forDevice(device(4.5, List.of(2, 3, 4, 8)));
        assertEquals(4.5, c.budgetBits(), 1e-9);
        assertEquals(3.0, c.nearestBits(), 1e-9);
        assertEquals(1.5, c.gapBits(), 1e-9);
    }

    @Test
    void onlyConfigurationsTheDeviceRunsCount() {
        FrontCoverage coverage = FrontCoverage.of(FRONT);
        // without 3-bit kernels the 3.0-bit point is out of reach: the nearest is 2.5 bits
        assertEquals(2.0, coverage.forDevice(device(4.5, List.of(2, 4, 8))).gapBits(), 1e-9);
        // 4- and 8-bit only: nothing at or below 4.5 bits is runnable: infeasible, not a gap
        assertNull(coverage.forDevice(device(4.5, List.of(4, 8))));
        DeviceCapabilities gguf = new DeviceCapabilities(
                "g",
                device(4.5, List.of(2, 3, 4, 8)).memoryBytes(),
                List.of(2, 3, 4, 8),
                List.of("gguf"),
                "low",
                OVERHEAD,
                null);
        assertNull(coverage.forDevice(gguf));
    }

    @Test
    void aDeviceAboveTheFrontsTopIsCoveredByIt() {
        FrontCoverage.Coverage c = FrontCoverage.of(FRONT).forDevice(device(7.0, List.of(2, 3, 4, 8)));
        assertEquals(7.0, c.budgetBits(), 1e-9);
        assertEquals(6.0, c.nearestBits(), 1e-9);
        assertEquals(0.0, c.gapBits(), 1e-9);
    }

    @Test
    void aFrontWithoutTwoBitWidthsHasNoLine() {
        assertNull(FrontCoverage.of(List.of(entry(3.0, List.of(3)))));
        assertNull(FrontCoverage.of(List.of(entry(3.0, List.of(3)), entry(3.0, List.of(2, 4)))));
        assertNull(FrontCoverage.of(null));
    }
}
