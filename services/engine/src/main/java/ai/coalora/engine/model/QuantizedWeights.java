package ai.coalora.engine.model;

import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.Quantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Applies a whole-model quantization configuration to a model (encoder or decoder): every quantizable matrix is
 * quantized with its own configuration and dequantized to float once (the method's "materialise once
 * per configuration"); training then runs on these frozen weights.
 */
public final class QuantizedWeights {
    private QuantizedWeights() {}

    /** The model's quantizable matrices, in the form the quantization package names them. */
    public static List<MatrixSpec> matrixSpecs(QuantizableModel model) {
        List<MatrixSpec> specs = new ArrayList<>();
        for (LinearId id : model.linearIds()) {
            int[] s = model.linearShape(id);
            specs.add(new MatrixSpec(id.weightName(), s[0], s[1]));
        }
        return specs;
    }

    /** Dequantized weights for {@code config}; fails clearly if the config was made for another model. */
    public static BaseWeights materialize(QuantizableModel model, ModelQuantConfig config) {
        checkMatches(model, config);
        Map<LinearId, float[]> weights = new ConcurrentHashMap<>();
        Map<LinearId, int[]> shapes = new TreeMap<>();
        for (ModelQuantConfig.Entry e : config.matrices())
            shapes.put(
                    LinearId.parse(e.matrix().name()),
                    new int[] {e.matrix().rows(), e.matrix().cols()});
        config.matrices().parallelStream().forEach(e -> {
            LinearId id = LinearId.parse(e.matrix().name());
            weights.put(
                    id,
                    Quantizer.fakeQuantize(
                            model.linearWeight(id),
                            e.matrix().rows(),
                            e.matrix().cols(),
                            e.config(),
                            config.quantizer()));
        });
        return BaseWeights.of(model.manager(), new TreeMap<>(weights), shapes);
    }

    public static void checkMatches(QuantizableModel model, ModelQuantConfig config) {
        List<MatrixSpec> expected = matrixSpecs(model);
        if (config.matrices().size() != expected.size()) {
            throw new IllegalArgumentException(
                    "configuration has " + config.matrices().size() + " matrices but the model has " + expected.size()
                            + " quantizable matrices");
        }
        for (ModelQuantConfig.Entry e : config.matrices()) {
            MatrixSpec m = e.matrix();
            if (!expected.contains(m)) {
                throw new IllegalArgumentException("configuration names matrix " + m.name() + " (" + m.rows() + "x"
                        + m.cols() + ") which this model does not have with that shape");
            }
        }
    }
}
