package ai.coalora.engine.bundle;

import ai.coalora.engine.io.Safetensors;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.PackedMatrix;
import ai.coalora.engine.quant.Quantizer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a device downloads to run one configuration, besides its adapter: the base model with every
 * quantizable matrix in the engine's bit-packed storage ({@value #PACKED}) and the rest (embeddings,
 * biases, LayerNorms) in fp32 ({@value #DENSE}). The dense file is the same for every configuration, so a
 * content-addressed store keeps it once. The sizes here are what the planner budgets against memory.
 */
public final class DevicePackage {
    public static final String PACKED = "base-packed.safetensors", DENSE = "base-dense.safetensors";
    /** Metadata key of the packed file holding the quantization configuration (JSON). */
    public static final String CONFIG_METADATA = "coalora.quant_config";

    private DevicePackage() {}

    /** Parameters kept in full precision: (V + P + T)·h embeddings, 2h LayerNorm, and per layer 9h + I of biases and LayerNorms. */
    public static long denseParameters(BertConfig c) {
        long h = c.hiddenSize();
        return (long) (c.vocabSize() + c.maxPositions() + c.typeVocabSize()) * h
                + 2 * h
                + (long) c.numLayers() * (9 * h + c.intermediateSize());
    }

    /** Bytes of weights a device holds for {@code config}: packed payloads (whole bytes per matrix) plus fp32 dense parameters. */
    public static long weightBytes(BertConfig model, ModelQuantConfig config) {
        long packed = 0;
        for (ModelQuantConfig.Entry e : config.matrices()) {
            packed +=
                    (PackedMatrix.payloadBits(e.matrix().rows(), e.matrix().cols(), e.config(), config.quantizer()) + 7)
                            / 8;
        }
        return packed + 4 * denseParameters(model);
    }

    /** Bytes of the adapter in fp32: A (r×cols) and B (rows×r) per matrix, plus the task head (labels×h + labels). */
    public static long adapterBytes(int rank, ModelQuantConfig config, BertConfig model, int labels) {
        long params = 0;
        for (ModelQuantConfig.Entry e : config.matrices())
            params += (long) rank * (e.matrix().rows() + e.matrix().cols());
        params += (long) labels * model.hiddenSize() + labels;
        return 4 * params;
    }

    /** The bit-packed quantizable matrices of {@code config}, one U8 tensor each, the configuration in the metadata. */
    public static byte[] packedBase(Map<String, OnnxWeights.Tensor> weights, ModelQuantConfig config) {
        Map<String, Safetensors.Tensor> tensors = new TreeMap<>();
        config.matrices().parallelStream()
                .map(e -> {
                    OnnxWeights.Tensor w = weights.get(e.matrix().name());
                    if (w == null)
                        throw new IllegalArgumentException(
                                "base model lacks matrix " + e.matrix().name());
                    PackedMatrix packed = Quantizer.quantize(
                            w.data(), e.matrix().rows(), e.matrix().cols(), e.config(), config.quantizer());
                    byte[] bytes = packed.toBytes();
                    return Map.entry(e.matrix().name(), Safetensors.Tensor.ofBytes(bytes, bytes.length));
                })
                .toList()
                .forEach(en -> tensors.put(en.getKey(), en.getValue()));
        return Safetensors.toBytes(tensors, Map.of(CONFIG_METADATA, config.toJson()));
    }

    /** The full-precision rest of the base model, identical for every configuration. */
    public static byte[] denseBase(Map<String, OnnxWeights.Tensor> weights, BertConfig model) {
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
        for (String name : BertEncoder.denseParamNames(model)) {
            OnnxWeights.Tensor t = weights.get(name);
            if (t == null) throw new IllegalArgumentException("base model lacks tensor " + name);
            tensors.put(name, Safetensors.Tensor.ofFloats(t.data(), t.shape()));
        }
        return Safetensors.toBytes(tensors, Map.of());
    }

    /** Reads a packed file back: the configuration it was made for and each matrix dequantized (what a device runs). */
    public static Unpacked unpack(byte[] packedFile) {
        Safetensors.Contents contents = Safetensors.fromBytes(packedFile, PACKED);
        String json = contents.metadata().get(CONFIG_METADATA);
        if (json == null) throw new IllegalArgumentException("packed base lacks metadata " + CONFIG_METADATA);
        ModelQuantConfig config = ModelQuantConfig.fromJson(json);
        Map<String, float[]> matrices = new TreeMap<>();
        for (ModelQuantConfig.Entry e : config.matrices()) {
            Safetensors.Tensor t = contents.tensors().get(e.matrix().name());
            if (t == null)
                throw new IllegalArgumentException(
                        "packed base lacks matrix " + e.matrix().name());
            PackedMatrix m = PackedMatrix.fromBytes(t.bytes());
            if (m.rows() != e.matrix().rows()
                    || m.cols() != e.matrix().cols()
                    || !m.config().equals(e.config())) {
                throw new IllegalArgumentException(
                        "packed matrix " + e.matrix().name() + " does not match its configuration");
            }
            matrices.put(e.matrix().name(), m.dequantize());
        }
        return new Unpacked(config, matrices);
    }

    public record Unpacked(ModelQuantConfig config, Map<String, float[]> matrices) {}

    /** Names of the dense tensors, in file order. */
    public static List<String> denseNames(BertConfig model) {
        return BertEncoder.denseParamNames(model);
    }
}
