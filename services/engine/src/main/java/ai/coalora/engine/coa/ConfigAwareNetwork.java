package ai.coalora.engine.coa;

import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.LinearId;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.norm.LayerNorm;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The configuration-aware network (method.md "Adapter and configuration-aware model"): for each
 * quantized matrix i it maps (5 configuration fields, block index, role) to an r x r matrix
 * <pre>  M_i = I + g * U(c_i, block_i, role_i)
 *   U = Linear(128, r*r)( SiLU( Linear(7*8, 128)( LayerNorm( concat of the 7 field embeddings ) ) ) )</pre>
 * The last layer starts near zero, so M starts at I and training starts from plain LoRA. One network
 * serves every matrix; all matrices of a configuration go through it as one batch.
 */
public final class ConfigAwareNetwork implements AutoCloseable {
    public static final int EMBEDDING_DIM = 8, HIDDEN = 128;
    /** Bound of the last layer's uniform init: small enough that M = I to ~1e-3, large enough to break symmetry. */
    static final float LAST_LAYER_INIT = 1e-3f;

    private final int rank;
    private final NDManager manager;
    /** Every trainable array by its bundle name, in a fixed order. */
    private final Map<String, NDArray> params = new LinkedHashMap<>();

    private ConfigAwareNetwork(int rank, NDManager manager) {
        this.rank = rank;
        this.manager = manager;
    }

    /** A freshly initialised network for LoRA rank {@code rank} and a model of {@code numBlocks} blocks of {@code numRoles} matrices. */
    public static ConfigAwareNetwork initialize(int rank, int numBlocks, int numRoles, long seed, NDManager parent) {
        Random random = new Random(seed);
        int in = ConfigFields.COUNT * EMBEDDING_DIM;
        return build(rank, numBlocks, numRoles, parent, (name, n) -> switch (name) {
            case "norm.weight", "gain" -> filled(n, 1f);
            case "norm.bias", "hidden.bias", "out.bias" -> filled(n, 0f);
            case "hidden.weight" -> uniform(random, n, 1.0 / Math.sqrt(in)); // PyTorch's default Linear bound
            case "out.weight" -> uniform(random, n, LAST_LAYER_INIT);
            default -> gaussian(random, n, 1.0); // embeddings, as nn.Embedding
        });
    }

    /** A network with given parameter values (from a bundle); names and sizes are checked against the architecture. */
    public static ConfigAwareNetwork of(int rank, int numBlocks, int numRoles, Map<String, float[]> values, NDManager parent) {
        java.util.Set<String> unused = new java.util.HashSet<>(values.keySet());
        ConfigAwareNetwork net = build(rank, numBlocks, numRoles, parent, (name, n) -> {
            float[] v = values.get(name);
            if (v == null) throw new IllegalArgumentException("configuration-aware network: missing parameter " + name);
            if (v.length != n) {
                throw new IllegalArgumentException("configuration-aware network: parameter " + name + " has "
                        + v.length + " values, expected " + n);
            }
            unused.remove(name);
            return v;
        });
        if (!unused.isEmpty()) {
            net.close();
            throw new IllegalArgumentException("configuration-aware network: unknown parameters " + unused);
        }
        return net;
    }

    /** The architecture, in one place: every parameter's name and shape, values from {@code init}. */
    private static ConfigAwareNetwork build(int rank, int numBlocks, int numRoles, NDManager parent,
                                            java.util.function.BiFunction<String, Integer, float[]> init) {
        if (rank < 1) throw new IllegalArgumentException("rank must be >= 1");
        ConfigAwareNetwork net = new ConfigAwareNetwork(rank, parent.newSubManager());
        try {
            int[] vocab = ConfigFields.vocabularySizes(numBlocks, numRoles);
            for (int f = 0; f < ConfigFields.COUNT; f++) net.put("embedding." + ConfigFields.NAMES[f], init, vocab[f], EMBEDDING_DIM);
            int in = ConfigFields.COUNT * EMBEDDING_DIM;
            net.put("norm.weight", init, in);
            net.put("norm.bias", init, in);
            net.put("hidden.weight", init, in, HIDDEN); // stored in x out: the forward pass is x.matMul(w)
            net.put("hidden.bias", init, HIDDEN);
            net.put("out.weight", init, HIDDEN, rank * rank);
            net.put("out.bias", init, rank * rank);
            net.put("gain", init, 1);
            return net;
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
    }

    /**
     * M for each of {@code fields} (N inputs): an (N, r, r) array in {@code scope}, differentiable with
     * respect to the network's parameters.
     */
    public NDArray mixing(List<ConfigFields> fields, NDManager scope) {
        int n = fields.size();
        NDArray[] embedded = new NDArray[ConfigFields.COUNT];
        for (int f = 0; f < ConfigFields.COUNT; f++) {
            NDArray table = params.get("embedding." + ConfigFields.NAMES[f]);
            int[] index = new int[n];
            for (int i = 0; i < n; i++) index[i] = fields.get(i).values()[f];
            // one-hot times table: an embedding lookup whose gradient is an ordinary matmul gradient
            embedded[f] = scope.create(index).oneHot((int) table.getShape().get(0)).matMul(table);
        }
        NDArray x = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(embedded), 1);
        x = LayerNorm.layerNorm(x, new Shape(x.getShape().get(1)), params.get("norm.weight"), params.get("norm.bias"), 1e-5f)
                .singletonOrThrow();
        x = x.matMul(params.get("hidden.weight")).add(params.get("hidden.bias"));
        x = x.mul(Activation.sigmoid(x)); // SiLU
        NDArray u = x.matMul(params.get("out.weight")).add(params.get("out.bias")).reshape(n, rank, rank);
        return u.mul(params.get("gain")).add(scope.eye(rank));
    }

    public int rank() { return rank; }

    /** Trainable arrays by bundle name, in a fixed order. */
    public Map<String, NDArray> parameters() { return params; }

    private void put(String name, java.util.function.BiFunction<String, Integer, float[]> init, long... shape) {
        int n = (int) new Shape(shape).size();
        params.put(name, LoraAdapter.trainable(manager.create(init.apply(name, n), new Shape(shape))));
    }

    private static float[] gaussian(Random r, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * std);
        return v;
    }

    private static float[] uniform(Random r, int n, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        return v;
    }

    private static float[] filled(int n, float value) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, value);
        return v;
    }

    /** Input fields of every matrix of a configuration, in the configuration's matrix order. */
    public static List<ConfigFields> fieldsOf(ai.coalora.engine.quant.ModelQuantConfig config) {
        return config.matrices().stream()
                .map(e -> ConfigFields.of(LinearId.parse(e.matrix().name()), e.config())).toList();
    }

    @Override
    public void close() { manager.close(); }
}
