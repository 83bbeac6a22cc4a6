package ai.coalora.engine.bundle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.Quantizer;
import ai.coalora.engine.quant.QuantizerKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What a device downloads, on the real MiniLM weights: sizes the planner budgets equal the files' payloads. */
class DevicePackageTest {
    static Map<String, OnnxWeights.Tensor> weights;
    static List<MatrixSpec> specs = new ArrayList<>();

    @BeforeAll
    static void load() throws Exception {
        weights = OnnxWeights.read(MiniLmArtifact.onnxFile());
        for (LinearId id : LinearId.all(BertConfig.MINILM_L6)) {
            OnnxWeights.Tensor t = weights.get(id.weightName());
            specs.add(new MatrixSpec(id.weightName(), t.rows(), t.cols()));
        }
    }

    /** Mixed: 2-bit with small blocks on even matrices, 4-bit integer-only on odd ones. */
    static ModelQuantConfig mixed() {
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            QuantConfig c = i % 2 == 0
                    ? new QuantConfig(2, 4, ai.coalora.engine.quant.ScaleType.FP16, 32, 64)
                    : QuantConfig.integerOnly(4);
            entries.add(new ModelQuantConfig.Entry(specs.get(i), c));
        }
        return new ModelQuantConfig(QuantizerKind.NF, entries);
    }

    @Test
    void denseParametersAreWhatTheModelHasBesidesItsMatrices() {
        long counted = 0;
        for (String name : BertEncoder.denseParamNames(BertConfig.MINILM_L6))
            counted += weights.get(name).data().length;
        assertEquals(counted, DevicePackage.denseParameters(BertConfig.MINILM_L6));
        long quantizable = specs.stream().mapToLong(MatrixSpec::numel).sum();
        assertEquals(22_565_376, counted + quantizable, "all-MiniLM-L6-v2 without its pooler: 22.6M parameters");
    }

    @Test
    void budgetedBytesAreThePackedPayloadsPlusTheDenseRest() {
        ModelQuantConfig config = mixed();
        byte[] packed = DevicePackage.packedBase(weights, config);
        byte[] dense = DevicePackage.denseBase(weights, BertConfig.MINILM_L6);
        long budgeted = DevicePackage.weightBytes(BertConfig.MINILM_L6, config);
        long files = packed.length + dense.length;
        // the files add only headers (safetensors JSON, per-matrix packing header): under 0.1% here
        assertTrue(
                files >= budgeted && files - budgeted < budgeted / 1000,
                files + " bytes of files vs " + budgeted + " budgeted");
        assertEquals(
                config.averageBits(),
                (budgeted - 4 * DevicePackage.denseParameters(BertConfig.MINILM_L6)) * 8.0 / config.totalNumel(),
                0.01);
    }

    @Test
    void aDeviceGetsBackExactlyTheQuantizedWeights() {
        ModelQuantConfig config = mixed();
        DevicePackage.Unpacked back = DevicePackage.unpack(DevicePackage.packedBase(weights, config));
        assertEquals(config, back.config());
        for (ModelQuantConfig.Entry e : config.matrices()) {
            float[] expected = Quantizer.fakeQuantize(
                    weights.get(e.matrix().name()).data(),
                    e.matrix().rows(),
                    e.matrix().cols(),
                    e.config(),
                    config.quantizer());
            assertArrayEquals(
                    expected, back.matrices().get(e.matrix().name()), e.matrix().name());
        }
    }

    @Test
    void packagesAreDeterministicAndCorruptionIsRefused() {
        ModelQuantConfig config = mixed();
        byte[] a = DevicePackage.packedBase(weights, config), b = DevicePackage.packedBase(weights, config);
        assertArrayEquals(a, b, "same configuration, same bytes: content addressing stores it once");
        assertNotEquals(
                config.configId(),
                ModelQuantConfig.uniform(specs, QuantConfig.integerOnly(4), QuantizerKind.NF)
                        .configId());
        byte[] truncated = Arrays.copyOf(a, a.length - 100);
        assertThrows(IllegalArgumentException.class, () -> DevicePackage.unpack(truncated));
    }

    @Test
    void adapterBytesCountBothFactorsAndTheHead() {
        ModelQuantConfig config = mixed();
        long rank16 = DevicePackage.adapterBytes(16, config, BertConfig.MINILM_L6, 2);
        long perMatrix =
                specs.stream().mapToLong(s -> 16L * (s.rows() + s.cols())).sum();
        assertEquals(4 * (perMatrix + 2 * 384 + 2), rank16);
    }
}
