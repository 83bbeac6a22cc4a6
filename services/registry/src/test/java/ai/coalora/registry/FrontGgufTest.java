package ai.coalora.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.coalora.engine.bundle.DevicePackage;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.GgufChoice;
import ai.coalora.fleet.events.Payloads.GgufGroup;
import ai.coalora.fleet.events.Payloads.GgufTensors;
import ai.coalora.fleet.planning.GgufPlanning;
import ai.coalora.fleet.planning.QualityMeasure;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The GGUF groups a front entry carries agree with the engine's mappings, so the planner budgets the engine's bytes. */
class FrontGgufTest {
    static final BertConfig MODEL = BertConfig.MINILM_L6;
    // rows of 384 weights: the K-quants' 256-weight blocks do not divide them (fallback to Q4_0); rows of 1536 do
    static final MatrixSpec QUERY = new MatrixSpec("encoder.layer.0.attention.self.query.weight", 384, 384);
    static final MatrixSpec UP = new MatrixSpec("encoder.layer.0.intermediate.dense.weight", 1536, 384);
    static final MatrixSpec DOWN = new MatrixSpec("encoder.layer.0.output.dense.weight", 384, 1536);
    static final MatrixSpec DOWN1 = new MatrixSpec("encoder.layer.1.output.dense.weight", 384, 1536);
    static final ModelQuantConfig CONFIG = new ModelQuantConfig(
            QuantizerKind.NF,
            List.of(
                    new ModelQuantConfig.Entry(QUERY, QuantConfig.integerOnly(2)),
                            new ModelQuantConfig.Entry(UP, QuantConfig.integerOnly(8)),
                    new ModelQuantConfig.Entry(DOWN, QuantConfig.integerOnly(2)),
                            new ModelQuantConfig.Entry(DOWN1, QuantConfig.integerOnly(3))));

    @Test
    void groupsByBitWidthAndTypes() {
        GgufTensors gguf = Fronts.ggufOf(4 * DevicePackage.denseParameters(MODEL), CONFIG);
        assertEquals(4 * DevicePackage.denseParameters(MODEL), gguf.denseBytes());
        assertEquals(
                List.of(
                        new GgufGroup(
                                2,
                                147456,
                                List.of(
                                        new GgufChoice("K_QUANTS", "Q4_0", 82944),
                                        new GgufChoice("LEGACY", "Q4_0", 82944))),
                        new GgufGroup(
                                2,
                                589824,
                                List.of(
                                        new GgufChoice("K_QUANTS", "Q2_K", 193536),
                                        new GgufChoice("LEGACY", "Q4_0", 331776))),
                        new GgufGroup(
                                3,
                                589824,
                                List.of(
                                        new GgufChoice("K_QUANTS", "Q3_K", 253440),
                                        new GgufChoice("LEGACY", "Q4_0", 331776))),
                        new GgufGroup(
                                8,
                                589824,
                                List.of(
                                        new GgufChoice("K_QUANTS", "Q8_0", 626688),
                                        new GgufChoice("LEGACY", "Q8_0", 626688)))),
                gguf.groups());
    }

    @Test
    void thePlannerBudgetsTheEnginesBytes() {
        FrontEntry e = new FrontEntry(
                "a".repeat(64),
                CONFIG.averageBits(),
                QualityMeasure.ACCURACY,
                0.9,
                List.of(2, 3, 8),
                List.of("gguf"),
                DevicePackage.weightBytes(MODEL, CONFIG),
                0,
                Fronts.ggufOf(4 * DevicePackage.denseParameters(MODEL), CONFIG));
        long dense = 4 * DevicePackage.denseParameters(MODEL);
        GgufPlanning.GgufPlan k = GgufPlanning.plan(
                        e, GgufPlanning.declared(List.of("Q2_K", "Q3_K", "Q4_K", "Q8_0", "Q4_0")))
                .plan();
        assertEquals(dense + GgufTypeMapping.K_QUANTS.bytes(CONFIG), k.weightBytes());
        assertEquals(GgufTypeMapping.K_QUANTS.bitsPerWeight(CONFIG), k.bitsPerWeight(), 1e-12);
        assertEquals("K_QUANTS", k.mapping());
        GgufPlanning.GgufPlan legacy = GgufPlanning.plan(e, GgufPlanning.declared(List.of("Q4_0", "Q8_0")))
                .plan();
        assertEquals(dense + GgufTypeMapping.LEGACY.bytes(CONFIG), legacy.weightBytes());
        assertEquals(GgufTypeMapping.LEGACY.bitsPerWeight(CONFIG), legacy.bitsPerWeight(), 1e-12);
        assertEquals("LEGACY", legacy.mapping());
    }
}
