package ai.coalora.fleet.planning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The decision rule on a small hand-made front (pure logic). */
class ParetoSelectionTest {
    static final String V = "a".repeat(64);
    static final List<String> PACKED = List.of("coalora-packed");
    // accuracy rises with size; the 3-bit entry is the most accurate per byte but not overall
    static final FrontEntry SMALL = entry("1", 2.3, 0.80, List.of(2, 4), 1000);
    static final FrontEntry MID = entry("2", 3.1, 0.86, List.of(3, 4), 1400);
    static final FrontEntry BIG = entry("3", 4.2, 0.90, List.of(4, 8), 2000);
    static final ParetoSelection SELECTION =
            new ParetoSelection(new ModelPromoted("production", V, null, "t", "t", List.of(SMALL, MID, BIG)));

    static FrontEntry entry(String id, double bits, double acc, List<Integer> widths, long bytes) {
        return new FrontEntry(id.repeat(64), bits, QualityMeasure.ACCURACY, acc, widths, PACKED, bytes, 100, null);
    }

    static DeviceCapabilities device(long memory, List<Integer> bits, List<String> formats, long overhead) {
        return new DeviceCapabilities("d1", memory, bits, formats, "mid", overhead, null);
    }

    @Test
    void plentyOfMemoryGetsTheMostAccurate() {
        ParetoSelection.Decision d = SELECTION.decide(device(10_000, List.of(2, 3, 4, 8), PACKED, 0));
        assertEquals(BIG, d.choice());
        assertEquals(2100, d.footprint().totalBytes());
        assertEquals("coalora-packed", d.runtimeFormat());
        assertFalse(d.reason().contains("rejected"), d.reason());
    }

    @Test
    void aPerplexityFrontGivesTheLowestPerplexityThatFitsAndRefusesMixedMeasures() {
        // perplexity falls with size: best first is the largest, as with accuracy, but ordered the other way
        FrontEntry small = perplexity("4", 2.3, 120.0, 1000), mid = perplexity("5", 3.1, 95.0, 1400);
        FrontEntry big = perplexity("6", 4.2, 88.0, 2000);
        ParetoSelection s =
                new ParetoSelection(new ModelPromoted("production", V, null, "t", "t", List.of(mid, big, small)));
        assertEquals(QualityMeasure.PERPLEXITY, s.measure());
        ParetoSelection.Decision d = s.decide(device(10_000, List.of(2, 3, 4, 8), PACKED, 0));
        assertEquals(big, d.choice(), "the lowest perplexity, not the highest");
        assertTrue(d.reason().contains("predicted perplexity 88.0"), d.reason());
        ParetoSelection.Decision tight = s.decide(device(1500, List.of(2, 3, 4, 8), PACKED, 0));
        assertEquals(mid, tight.choice());
        assertTrue(tight.reason().contains("1 better predicted rejected"), tight.reason());

        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> new ParetoSelection(new ModelPromoted("production", V, null, "t", "t", List.of(big, MID))));
        assertTrue(e.getMessage().contains("mixes measures"), e.getMessage());
    }

    static FrontEntry perplexity(String id, double bits, double ppl, long bytes) {
        return new FrontEntry(
                id.repeat(64), bits, QualityMeasure.PERPLEXITY, ppl, List.of(2, 3, 4, 8), PACKED, bytes, 100, null);
    }

    @Test
    void memoryCountsWeightsAdapterAndOverhead() {
        // 1500 + 0 overhead fits MID (1400+100) exactly; 1 byte of overhead pushes it to SMALL
        assertEquals(
                MID,
                SELECTION.decide(device(1500, List.of(2, 3, 4, 8), PACKED, 0)).choice());
        ParetoSelection.Decision d = SELECTION.decide(device(1500, List.of(2, 3, 4, 8), PACKED, 1));
        assertEquals(SMALL, d.choice());
        assertTrue(d.reason().contains("2 better predicted rejected (2 too large for its memory)"), d.reason());
    }

    @Test
    void onlySupportedBitWidths() {
        ParetoSelection.Decision d = SELECTION.decide(device(10_000, List.of(3, 4), PACKED, 0));
        assertEquals(MID, d.choice());
        assertTrue(d.reason().contains("1 use unsupported bit-widths"), d.reason());
    }

    @Test
    void nothingFitsIsAnExplicitDecisionWithTheReason() {
        ParetoSelection.Decision tooSmall = SELECTION.decide(device(900, List.of(2, 3, 4, 8), PACKED, 50));
        assertNull(tooSmall.choice());
        assertFalse(tooSmall.feasible());
        assertTrue(tooSmall.reason().startsWith("no feasible configuration among 3"), tooSmall.reason());
        assertTrue(tooSmall.reason().contains("the smallest needs 1150 bytes, the device has 900"), tooSmall.reason());

        ParetoSelection.Decision gguf = SELECTION.decide(device(10_000, List.of(2, 3, 4, 8), List.of("gguf"), 0));
        assertFalse(gguf.feasible());
        assertTrue(
                gguf.reason().contains("3 need an unsupported runtime format")
                        && gguf.reason().contains("[gguf]"),
                gguf.reason());

        ParetoSelection.Decision eightBit = SELECTION.decide(device(10_000, List.of(8), PACKED, 0));
        assertFalse(eightBit.feasible());
        assertTrue(eightBit.reason().contains("3 use unsupported bit-widths"), eightBit.reason());
    }

    @Test
    void anOverheadNearTheLimitOfALongFitsNothingInsteadOfWrapping() {
        // weights + adapter + Long.MAX_VALUE would wrap to a negative total that "fits" any device
        ParetoSelection.Decision d = SELECTION.decide(device(1L << 50, List.of(2, 3, 4, 8), PACKED, Long.MAX_VALUE));
        assertFalse(d.feasible(), d.reason());
        assertEquals(Long.MAX_VALUE, ParetoSelection.footprint(Long.MAX_VALUE, 1, 0));
        assertEquals(1600, ParetoSelection.footprint(1000, 500, 100));
    }

    @Test
    void tiesGoToTheSmallerFootprint() {
        FrontEntry twin = entry("4", 4.0, 0.90, List.of(4), 1800);
        ParetoSelection s = new ParetoSelection(new ModelPromoted("production", V, null, "t", "t", List.of(BIG, twin)));
        assertEquals(twin, s.decide(device(10_000, List.of(4, 8), PACKED, 0)).choice());
    }
}
