package ai.coalora.engine.model;

import ai.coalora.engine.model.OnnxWeights.Tensor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A BERT encoder written out with DJL operations, top to bottom:
 * embeddings -> L x (self-attention, add & norm, feed-forward, add & norm) -> hidden states.
 *
 * <p>The quantizable linear layers take their weights from a {@link BaseWeights} (full precision or a
 * quantization configuration's dequantized weights) and add an optional {@link Adapter} (LoRA).
 * Embeddings, norms and biases stay in full precision, as the method says.
 */
public final class BertEncoder implements QuantizableModel, AutoCloseable {
    private final BertConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> fullPrecisionParams = new HashMap<>();
    private final Map<LinearId, float[]> linearWeights = new TreeMap<>();
    private final Map<LinearId, int[]> linearShapes = new TreeMap<>();
    private final BaseWeights fullPrecision;

    private BertEncoder(BertConfig config, Map<String, Tensor> tensors, NDManager parent) {
        checkTensors(config, tensors);
        this.config = config;
        this.manager = parent.newSubManager();
        for (String name : denseParamNames(config)) {
            Tensor t = tensors.get(name);
            fullPrecisionParams.put(name, manager.create(t.data(), new Shape(t.shape())));
        }
        for (LinearId id : LinearId.all(config)) {
            Tensor t = tensors.get(id.weightName());
            linearWeights.put(id, t.data());
            linearShapes.put(id, new int[] {t.rows(), t.cols()});
        }
        this.fullPrecision = BaseWeights.of(manager, linearWeights, linearShapes);
    }

    /** Loads an encoder from ONNX initializers with HF names. */
    public static BertEncoder fromOnnx(Path onnxFile, BertConfig config, NDManager manager) throws IOException {
        return new BertEncoder(config, OnnxWeights.read(onnxFile), manager);
    }

    /** Every parameter present with its shape; a wrong shape would otherwise surface as a broadcasting error deep in a forward pass. */
    private static void checkTensors(BertConfig config, Map<String, Tensor> tensors) {
        List<String> missing = new ArrayList<>(), misshapen = new ArrayList<>();
        for (Map.Entry<String, long[]> p : parameterShapes(config).entrySet()) {
            Tensor t = tensors.get(p.getKey());
            if (t == null) missing.add(p.getKey());
            else if (!Arrays.equals(t.shape(), p.getValue())
                    || t.data().length != Arrays.stream(p.getValue()).reduce(1, Math::multiplyExact)) {
                misshapen.add(p.getKey() + " " + Arrays.toString(t.shape()) + " (expected "
                        + Arrays.toString(p.getValue()) + ")");
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("model file lacks " + missing.size() + " tensors, e.g. "
                    + missing.subList(0, Math.min(5, missing.size())));
        }
        if (!misshapen.isEmpty()) {
            throw new IllegalArgumentException("model file has " + misshapen.size()
                    + " tensors of the wrong shape, e.g. " + misshapen.subList(0, Math.min(5, misshapen.size())));
        }
    }

    /**
     * An encoder from given tensors by HF name: the quantizable matrices (out x in) become its base weights
     * ({@link #fullPrecision()} is then whatever they hold, e.g. a device's dequantized matrices), the rest its
     * embeddings, biases and LayerNorms. Every tensor of {@link #parameterShapes} must be there with that shape.
     */
    public static BertEncoder fromTensors(BertConfig config, Map<String, Tensor> tensors, NDManager manager) {
        return new BertEncoder(config, tensors, manager);
    }

    /** The pretrained all-MiniLM-L6-v2. */
    public static BertEncoder miniLm(NDManager manager) throws IOException {
        return fromOnnx(MiniLmArtifact.onnxFile(), BertConfig.MINILM_L6, manager);
    }

    /** The full-precision parameters besides the quantizable matrices: embeddings, biases, LayerNorms. */
    public static List<String> denseParamNames(BertConfig config) {
        List<String> names = new ArrayList<>(List.of(
                "embeddings.word_embeddings.weight",
                "embeddings.position_embeddings.weight",
                "embeddings.token_type_embeddings.weight",
                "embeddings.LayerNorm.weight",
                "embeddings.LayerNorm.bias"));
        for (LinearId id : LinearId.all(config)) names.add(id.biasName());
        for (int l = 0; l < config.numLayers(); l++) {
            for (String norm : List.of("attention.output.LayerNorm", "output.LayerNorm")) {
                names.add("encoder.layer." + l + "." + norm + ".weight");
                names.add("encoder.layer." + l + "." + norm + ".bias");
            }
        }
        return names;
    }

    /** Every parameter the encoder reads, by HF name, with its shape: the dense ones, then the linear weights (out x in). */
    public static Map<String, long[]> parameterShapes(BertConfig c) {
        long h = c.hiddenSize();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (String name : denseParamNames(c)) {
            long[] shape = switch (name) {
                case "embeddings.word_embeddings.weight" -> new long[] {c.vocabSize(), h};
                case "embeddings.position_embeddings.weight" -> new long[] {c.maxPositions(), h};
                case "embeddings.token_type_embeddings.weight" -> new long[] {c.typeVocabSize(), h};
                default -> new long[] {name.contains("LayerNorm") ? h : outFeatures(c, name)};
            };
            shapes.put(name, shape);
        }
        for (LinearId id : LinearId.all(c)) {
            long in = id.role() == Role.OUTPUT ? c.intermediateSize() : h;
            shapes.put(id.weightName(), new long[] {outFeatures(c, id.weightName()), in});
        }
        return shapes;
    }

    /** Output width of the linear layer a weight or bias name belongs to: the intermediate layer widens, all others keep h. */
    private static long outFeatures(BertConfig c, String name) {
        return name.contains("." + Role.INTERMEDIATE.hfModule() + ".") ? c.intermediateSize() : c.hiddenSize();
    }

    public BertConfig config() {
        return config;
    }

    @Override
    public Role.Architecture architecture() {
        return Role.Architecture.ENCODER;
    }

    @Override
    public int numBlocks() {
        return config.numLayers();
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    /** The pretrained weights of the quantizable linear layers, NDArray form. */
    @Override
    public BaseWeights fullPrecision() {
        return fullPrecision;
    }

    /** HF-layout (out x in) pretrained weights of one linear layer; the input to quantization. */
    @Override
    public float[] linearWeight(LinearId id) {
        return linearWeights.get(id);
    }

    /** {rows = out features, cols = in features}. */
    @Override
    public int[] linearShape(LinearId id) {
        return linearShapes.get(id);
    }

    @Override
    public List<LinearId> linearIds() {
        return new ArrayList<>(linearWeights.keySet());
    }

    /**
     * Last hidden states (batch x tokens x hidden). Intermediate arrays live in the batch's manager, so
     * a caller that scopes each step in a sub-manager frees them all.
     */
    public NDArray forward(TokenBatch batch, BaseWeights base, Adapter adapter) {
        int b = batch.size(), t = batch.length(), h = config.hiddenSize();
        NDArray ids = batch.ids();
        NDArray words =
                StepScope.own(param("embeddings.word_embeddings.weight").get(new NDIndex("{}", ids.reshape(-1))), ids);
        NDArray positions =
                StepScope.own(param("embeddings.position_embeddings.weight").get(new NDIndex("0:" + t)), ids);
        NDArray tokenType =
                StepScope.own(param("embeddings.token_type_embeddings.weight").get(0), ids); // single segment
        NDArray x = layerNorm(words.reshape(b, t, h).add(positions).add(tokenType), "embeddings.LayerNorm");

        // additive attention mask: 0 for real tokens, a large negative number for padding keys
        NDArray maskBias = batch.mask().sub(1f).mul(1e9f).reshape(b, 1, 1, t);
        for (int block = 0; block < config.numLayers(); block++) {
            x = encoderBlock(block, x, maskBias, base, adapter);
        }
        return x;
    }

    private NDArray encoderBlock(int block, NDArray x, NDArray maskBias, BaseWeights base, Adapter adapter) {
        String prefix = "encoder.layer." + block + ".";
        NDArray q = heads(linear(new LinearId(block, Role.QUERY), x, base, adapter));
        NDArray k = heads(linear(new LinearId(block, Role.KEY), x, base, adapter));
        NDArray v = heads(linear(new LinearId(block, Role.VALUE), x, base, adapter));

        // softmax(q k^T / sqrt(d) + mask) v
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2))
                .div((float) Math.sqrt(config.headSize()))
                .add(maskBias);
        NDArray context = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(x.getShape());

        NDArray attended = linear(new LinearId(block, Role.ATTENTION_OUTPUT), context, base, adapter);
        x = layerNorm(x.add(attended), prefix + "attention.output.LayerNorm");

        NDArray hidden = Activation.gelu(linear(new LinearId(block, Role.INTERMEDIATE), x, base, adapter));
        NDArray out = linear(new LinearId(block, Role.OUTPUT), hidden, base, adapter);
        return layerNorm(x.add(out), prefix + "output.LayerNorm");
    }

    /** y = x W^T + bias (+ adapter delta); the bias is added inside the product (one pass over y fewer). */
    private NDArray linear(LinearId id, NDArray x, BaseWeights base, Adapter adapter) {
        NDArray y = Linear.linear(x, base.outByIn(id), param(id.biasName())).singletonOrThrow();
        if (adapter != null) {
            NDArray delta = adapter.delta(id, x);
            if (delta != null) y = y.add(delta);
        }
        return y;
    }

    /** (batch, tokens, hidden) -> (batch, heads, tokens, head size). */
    private NDArray heads(NDArray x) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), config.numHeads(), config.headSize())
                .transpose(0, 2, 1, 3);
    }

    private NDArray layerNorm(NDArray x, String name) {
        return LayerNorm.layerNorm(
                        x,
                        new Shape(config.hiddenSize()),
                        param(name + ".weight"),
                        param(name + ".bias"),
                        config.layerNormEps())
                .singletonOrThrow();
    }

    private NDArray param(String name) {
        return fullPrecisionParams.get(name);
    }

    /** Sentence embedding: the mean of the hidden states over real (unpadded) tokens. */
    public static NDArray meanPool(NDArray hidden, NDArray mask) {
        NDArray m = mask.expandDims(-1);
        return hidden.mul(m).sum(new int[] {1}).div(m.sum(new int[] {1}));
    }

    @Override
    public void close() {
        manager.close();
    }
}
