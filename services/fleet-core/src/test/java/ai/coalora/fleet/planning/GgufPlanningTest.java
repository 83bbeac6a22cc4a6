package ai.coalora.fleet.planning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.DeviceCapabilities;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.GgufChoice;
import ai.coalora.fleet.events.Payloads.GgufGroup;
import ai.coalora.fleet.events.Payloads.GgufTensors;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.planning.GgufPlanning.GgufPlan;
import ai.coalora.fleet.planning.ParetoSelection.Decision;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * GGUF runtimes that declare their types: which configurations map onto them, and what they cost. Bytes are
 * ggml's: 2560 weights are 10 Q2_K blocks (84 bytes) = 840, 80 Q4_0 or 10 Q4_K blocks = 1440; 512 weights are
 * 16 Q8_0 blocks (34 bytes) = 544; 1000 bytes stay F32.
 */
class GgufPlanningTest {
    static final String V = "a".repeat(64);
    static final List<String> GGUF = List.of("gguf");
    static final List<String> LEGACY_TYPES = List.of("Q4_0", "Q8_0");
    static final List<String> K_TYPES = List.of("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0");

    static final GgufGroup EIGHT = group(8, 512, "Q8_0", 544, "Q8_0", 544);
    /** 2-bit matrices (Q2_K or Q4_0) + 8-bit: 2384 bytes in K-quants, 2984 in legacy; packed 2252. */
    static final FrontEntry LOW = entry(
            "1",
            2.6,
            0.80,
            List.of(2, 8),
            2252,
            new GgufTensors(1000, List.of(group(2, 2560, "Q2_K", 840, "Q4_0", 1440), EIGHT)));
    /** 4-bit matrices (Q4_K or Q4_0) + 8-bit: 2984 bytes either way; packed 2892 (4-bit packs tighter than 4.5-bit GGUF). */
    static final FrontEntry HIGH = entry(
            "2",
            4.6,
            0.90,
            List.of(4, 8),
            2892,
            new GgufTensors(1000, List.of(group(4, 2560, "Q4_K", 1440, "Q4_0", 1440), EIGHT)));

    static final ParetoSelection SELECTION =
            new ParetoSelection(new ModelPromoted("production", V, null, "t", "t", List.of(LOW, HIGH)));

    static GgufGroup group(int b, long weights, String kType, long kBytes, String legacyType, long legacyBytes) {
        return new GgufGroup(
                b,
                weights,
                List.of(new GgufChoice("K_QUANTS", kType, kBytes), new GgufChoice("LEGACY", legacyType, legacyBytes)));
    }

    static FrontEntry entry(
            String id, double bits, double acc, List<Integer> widths, long packedBytes, GgufTensors gguf) {
        return new FrontEntry(
                id.repeat(64),
                bits,
                QualityMeasure.ACCURACY,
                acc,
                widths,
                List.of("coalora-packed", "gguf"),
                packedBytes,
                100,
                gguf);
    }

    static DeviceCapabilities device(long memory, List<String> formats, List<String> ggufTypes) {
        return new DeviceCapabilities("d1", memory, List.of(2, 3, 4, 8), formats, "mid", 0L, null, ggufTypes);
    }

    @Test
    void legacyOnlyDeviceGetsLegacyTypesAndTheirBytes() {
        Decision d = SELECTION.decide(device(10_000, GGUF, LEGACY_TYPES));
        assertEquals(HIGH, d.choice());
        assertEquals("gguf", d.runtimeFormat());
        assertEquals(new GgufPlan("LEGACY", List.of("Q4_0", "Q8_0"), 8.0 * (1440 + 544) / 3072, 2984), d.gguf());
        assertEquals(2984, d.footprint().weightBytes());
        assertEquals(3084, d.footprint().totalBytes());
        assertTrue(d.reason().contains("as gguf with LEGACY types [Q4_0, Q8_0]"), d.reason());
    }

    @Test
    void legacyOnlyDeviceNeverGetsQ2K() {
        // 2484 bytes hold LOW in K-quants (2384 + 100) but not in legacy types (2984 + 100)
        Decision legacy = SELECTION.decide(device(2484, GGUF, LEGACY_TYPES));
        assertFalse(legacy.feasible());
        assertTrue(legacy.reason().contains("2 too large for its memory"), legacy.reason());
        assertTrue(legacy.reason().contains("the smallest needs 3084 bytes"), legacy.reason());

        // in legacy types 2-bit matrices (as Q4_0) save nothing over 4-bit ones: with room for either it gets the more
        // accurate
        Decision roomy = SELECTION.decide(device(3084, GGUF, LEGACY_TYPES));
        assertEquals(HIGH, roomy.choice());
        assertEquals(List.of("Q4_0", "Q8_0"), roomy.gguf().types());
        // and LOW alone maps its 2-bit matrices to Q4_0, never Q2_K
        GgufPlan low =
                GgufPlanning.plan(LOW, GgufPlanning.declared(LEGACY_TYPES)).plan();
        assertEquals(new GgufPlan("LEGACY", List.of("Q4_0", "Q8_0"), 8.0 * (1440 + 544) / 3072, 2984), low);
    }

    @Test
    void kQuantDeviceTakesTheLowerBitConfiguration() {
        Decision d = SELECTION.decide(device(2484, GGUF, K_TYPES));
        assertEquals(LOW, d.choice());
        assertEquals("K_QUANTS", d.gguf().mapping());
        assertEquals(List.of("Q2_K", "Q8_0"), d.gguf().types());
        assertEquals(2384, d.footprint().weightBytes());
        assertEquals(2484, d.footprint().totalBytes());
        assertTrue(d.reason().contains("1 better predicted rejected (1 too large for its memory)"), d.reason());
    }

    @Test
    void memoryIsBudgetedInGgufBytesNotPackedBytes() {
        // HIGH needs 2992 packed but 3084 as GGUF: a 3000-byte gguf device that declares types cannot take it
        Decision declared = SELECTION.decide(device(3000, GGUF, K_TYPES));
        assertEquals(LOW, declared.choice());
        // without declared types a gguf runtime is budgeted as before (packed bytes, no type check)
        Decision undeclared = SELECTION.decide(device(3000, GGUF, null));
        assertEquals(HIGH, undeclared.choice());
        assertNull(undeclared.gguf());
        assertEquals(2892, undeclared.footprint().weightBytes());
        // and a device that also runs the packed layout gets HIGH in it (the configuration lists packed first)
        Decision both = SELECTION.decide(device(3000, List.of("coalora-packed", "gguf"), K_TYPES));
        assertEquals(HIGH, both.choice());
        assertEquals("coalora-packed", both.runtimeFormat());
        assertNull(both.gguf());
    }

    @Test
    void aFormatThatDoesNotFitFallsThroughToTheNextTheDeviceRuns() {
        FrontEntry ggufFirst = new FrontEntry(
                "3".repeat(64),
                4.6,
                QualityMeasure.ACCURACY,
                0.90,
                List.of(4, 8),
                List.of("gguf", "coalora-packed"),
                2892,
                100,
                HIGH.gguf());
        ParetoSelection s = new ParetoSelection(new ModelPromoted("production", V, null, "t", "t", List.of(ggufFirst)));
        Decision d = s.decide(device(3000, List.of("coalora-packed", "gguf"), K_TYPES));
        assertEquals("coalora-packed", d.runtimeFormat());
        assertEquals(2992, d.footprint().totalBytes());
        Decision gguf = s.decide(device(3084, List.of("coalora-packed", "gguf"), K_TYPES));
        assertEquals("gguf", gguf.runtimeFormat());
    }

    @Test
    void missingTypesAreNamed() {
        // Q4_K and Q8_0 only: HIGH maps (K-quants), LOW's 2-bit matrices need Q2_K or Q4_0
        List<String> types = List.of("Q4_K", "Q8_0");
        assertEquals(
                "K_QUANTS", SELECTION.decide(device(10_000, GGUF, types)).gguf().mapping());
        Decision d = SELECTION.decide(device(2600, GGUF, types));
        assertFalse(d.feasible());
        assertTrue(d.reason().contains("1 too large for its memory, 1 need GGUF types the device lacks"), d.reason());
        assertTrue(d.reason().contains("device GGUF types [Q4_K, Q8_0], missing Q2_K or Q4_0 (2-bit)"), d.reason());

        Decision onlyF16 = SELECTION.decide(device(10_000, GGUF, List.of("F16")));
        assertFalse(onlyF16.feasible());
        assertTrue(
                onlyF16.reason().contains("missing Q2_K or Q4_0 (2-bit), Q4_K or Q4_0 (4-bit), Q8_0 (8-bit)"),
                onlyF16.reason());
    }

    @Test
    void aFrontWithoutGgufInformationCannotServeDeclaredTypes() {
        FrontEntry old = new FrontEntry(
                "4".repeat(64), 4.6, QualityMeasure.ACCURACY, 0.90, List.of(4, 8), GGUF, 2892, 100, null);
        ParetoSelection s = new ParetoSelection(new ModelPromoted("production", V, null, "t", "t", List.of(old)));
        Decision declared = s.decide(device(10_000, GGUF, LEGACY_TYPES));
        assertFalse(declared.feasible());
        assertTrue(declared.reason().contains("missing GGUF type information"), declared.reason());
        assertEquals(old, s.decide(device(10_000, GGUF, null)).choice());
    }

    /** The example of docs/fleet.md ("Planning for GGUF runtimes"): the recorded MiniLM front (2-bit and 4-bit) and the recorded gguf device. */
    @Test
    void documentedExample() throws Exception {
        ModelPromoted promoted =
                Payloads.read(recorded("ai.coalora.model.promoted/2026-12-gguf-front.json"), ModelPromoted.class);
        DeviceCapabilities recorded = Payloads.read(
                recorded("ai.coalora.device.capabilities/2026-12-gguf-types.json"), DeviceCapabilities.class);
        assertEquals(List.of("Q4_0", "Q8_0"), recorded.ggufTypes());
        ParetoSelection s = new ParetoSelection(promoted);
        // the recorded device (128 MiB, 32 MiB overhead) holds either configuration: the 4-bit one, in Q4_0
        Decision roomy = s.decide(recorded);
        assertEquals(4.25, roomy.choice().averageBits());
        assertEquals(new GgufPlan("LEGACY", List.of("Q4_0"), 4.5, 53766144), roomy.gguf());

        long memory = 88_000_000;
        DeviceCapabilities legacy =
                new DeviceCapabilities("d", memory, List.of(2, 3, 4, 8), GGUF, "mid", 33554432L, null, LEGACY_TYPES);
        assertEquals(
                "no feasible configuration among 2 on the front of production: 2 too large for its memory; "
                        + "the smallest needs 88534016 bytes, the device has 88000000",
                s.decide(legacy).reason());

        DeviceCapabilities kQuants = new DeviceCapabilities(
                "d",
                memory,
                List.of(2, 3, 4, 8),
                GGUF,
                "mid",
                33554432L,
                null,
                List.of("Q2_K", "Q3_K", "Q4_K", "Q8_0", "Q4_0"));
        Decision k = s.decide(kQuants);
        assertEquals(
                "best predicted fitting configuration of 2 on the front of production: 2.25 bits, predicted accuracy 0.8342, "
                        + "needs 87704576 of 88000000 bytes as gguf with K_QUANTS types [Q2_K, Q4_0] (3.875 bits per quantized weight); "
                        + "1 better predicted rejected (1 too large for its memory)",
                k.reason());
        assertEquals(52936704, k.footprint().weightBytes());

        DeviceCapabilities noQ40 = new DeviceCapabilities(
                "d",
                memory,
                List.of(2, 3, 4, 8),
                GGUF,
                "mid",
                33554432L,
                null,
                List.of("Q2_K", "Q3_K", "Q4_K", "Q8_0"));
        assertEquals(
                "no feasible configuration among 2 on the front of production: 2 need GGUF types the device lacks; "
                        + "device GGUF types [Q2_K, Q3_K, Q4_K, Q8_0], missing Q4_0 (2-bit), Q4_0 (4-bit)",
                s.decide(noQ40).reason());

        DeviceCapabilities undeclared =
                new DeviceCapabilities("d", memory, List.of(2, 3, 4, 8), GGUF, "mid", 33554432L, null, null);
        Decision before = s.decide(undeclared);
        assertEquals(2.25, before.choice().averageBits());
        assertEquals(85547968, before.footprint().totalBytes());
        assertNull(before.gguf());
    }

    static com.fasterxml.jackson.databind.JsonNode recorded(String path) throws IOException {
        try (var in = GgufPlanningTest.class.getClassLoader().getResourceAsStream("schemas/recorded/" + path)) {
            if (in == null) throw new IllegalStateException("no recorded event " + path + " on the classpath");
            return Payloads.JSON.readTree(in).get("data");
        }
    }

    @Test
    void perMatrixMappingAndItsName() {
        // Q2_K but no Q4_K: 2-bit matrices take Q2_K (K-quants), 4-bit ones Q4_0 (legacy)
        FrontEntry mixed = entry(
                "5",
                3.0,
                0.85,
                List.of(2, 4, 8),
                2500,
                new GgufTensors(
                        1000,
                        List.of(
                                group(2, 2560, "Q2_K", 840, "Q4_0", 1440),
                                group(4, 2560, "Q4_K", 1440, "Q4_0", 1440),
                                EIGHT)));
        GgufPlan plan = GgufPlanning.plan(mixed, GgufPlanning.declared(List.of("Q2_K", "Q4_0", "Q8_0")))
                .plan();
        assertEquals("MIXED", plan.mapping());
        assertEquals(List.of("Q2_K", "Q4_0", "Q8_0"), plan.types());
        assertEquals(1000 + 840 + 1440 + 544, plan.weightBytes());
        // where both mappings give the same type (8-bit), either name holds; K-quants win
        assertEquals(
                "K_QUANTS",
                GgufPlanning.plan(HIGH, Set.of("Q4_K", "Q8_0")).plan().mapping());
        // names are case-insensitive, as ggml prints them ("q4_K")
        assertEquals(
                "LEGACY",
                GgufPlanning.plan(HIGH, GgufPlanning.declared(List.of("q4_0", "q8_0")))
                        .plan()
                        .mapping());
        // a declared type with fewer bytes wins over the first listed
        GgufTensors cheapSecond = new GgufTensors(
                0,
                List.of(new GgufGroup(
                        4,
                        256,
                        List.of(new GgufChoice("K_QUANTS", "Q4_K", 144), new GgufChoice("OTHER", "IQ4_XS", 136)))));
        FrontEntry e = entry("6", 4.3, 0.9, List.of(4), 200, cheapSecond);
        assertEquals(136, GgufPlanning.plan(e, Set.of("Q4_K", "IQ4_XS")).plan().weightBytes());
        assertEquals(4.25, GgufPlanning.plan(e, Set.of("Q4_K", "IQ4_XS")).plan().bitsPerWeight());
    }
}
