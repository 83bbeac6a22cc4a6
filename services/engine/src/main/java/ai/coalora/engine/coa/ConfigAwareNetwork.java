package ai.coalora.engine.coa;

import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.model.LinearId;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.norm.LayerNorm;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The configuration-aware network (theta): for each quantized matrix i it maps (5 configuration fields,
 * block index, role) to an r x r matrix
 * <pre>  M_i = I + g * U(c_i, block_i, role_i)
 *   U = Linear(128, r*r)( SiLU( Linear(d, 128)( LayerNorm( x ) ) ) )
 *   x = concat of the 7 field embeddings (8 each) [, Linear(6, 8)(continuous features of c_i)]</pre>
 * The last layer starts near zero, so M starts at I and training starts from plain LoRA. One network
 * serves every matrix; all matrices of a configuration go through it as one batch. With
 * {@link ConfigInputs#FIELDS_AND_CONTINUOUS} the network also reads the configuration as numbers
 * ({@link #continuousFeatures}); a bundle's network has those inputs exactly when it holds
 * {@code continuous.weight}. A {@link ConfigInputs#BLIND} network (a control) reads every configuration as the
 * first option.
 */
public final class ConfigAwareNetwork implements AutoCloseable {
    public static final int EMBEDDING_DIM = 8, HIDDEN = 128;
    /** Bound of the last layer's uniform init: small enough that M = I to ~1e-3, large enough to break symmetry. */
    static final float LAST_LAYER_INIT = 1e-3f;

    /** The parameters weight decay applies to; embeddings, norms, biases and the gain are never decayed. */
    public static final Set<String> DECAYED = Set.of("hidden.weight", "out.weight", "continuous.weight");

    /** Continuous features per matrix, see {@link #continuousFeatures}. */
    public static final int CONTINUOUS_FEATURES = 6;

    private final int rank;
    private final ConfigInputs inputs;
    private final NDManager manager;
    /** Every trainable array by its bundle name, in a fixed order. */
    private final Map<String, NDArray> params = new LinkedHashMap<>();

    private ConfigAwareNetwork(int rank, ConfigInputs inputs, NDManager manager) {
        this.rank = rank;
        this.inputs = inputs;
        this.manager = manager;
    }

    /** A freshly initialised network for LoRA rank {@code rank} and a model of {@code numBlocks} blocks of {@code numRoles} matrices. */
    public static ConfigAwareNetwork initialize(int rank, int numBlocks, int numRoles, long seed, NDManager parent) {
        return initialize(rank, numBlocks, numRoles, seed, ThetaSettings.defaults(), parent);
    }

    /** A freshly initialised network with the inputs and initial gain of {@code theta}. */
    public static ConfigAwareNetwork initialize(
            int rank, int numBlocks, int numRoles, long seed, ThetaSettings theta, NDManager parent) {
        Random random = new Random(seed);
        int in = inputWidth(theta.inputs());
        return build(rank, numBlocks, numRoles, theta.inputs(), parent, (name, n) -> switch (name) {
            case "norm.weight" -> filled(n, 1f);
            case "gain" -> filled(n, theta.gainInit());
            case "continuous.weight" -> uniform(random, n, 1.0 / Math.sqrt(CONTINUOUS_FEATURES));
            case "norm.bias", "hidden.bias", "out.bias" -> filled(n, 0f);
            case "hidden.weight" -> uniform(random, n, 1.0 / Math.sqrt(in)); // PyTorch's default Linear bound
            case "out.weight" -> uniform(random, n, LAST_LAYER_INIT);
            default -> gaussian(random, n, 1.0); // embeddings, as nn.Embedding
        });
    }

    /** A network with given parameter values (from a bundle); names and sizes are checked against the architecture. */
    public static ConfigAwareNetwork of(
            int rank, int numBlocks, int numRoles, Map<String, float[]> values, NDManager parent) {
        Set<String> unused = new HashSet<>(values.keySet());
        ConfigInputs inputs =
                values.containsKey("continuous.weight") ? ConfigInputs.FIELDS_AND_CONTINUOUS : ConfigInputs.FIELDS;
        ConfigAwareNetwork net = build(rank, numBlocks, numRoles, inputs, parent, (name, n) -> {
            float[] v = values.get(name);
            if (v == null) throw new IllegalArgumentException("configuration-aware network: missing parameter " + name);
            if (v.length != n) {
                throw new IllegalArgumentException("configuration-aware network: parameter " + name + " has " + v.length
                        + " values, expected " + n);
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
    private static ConfigAwareNetwork build(
            int rank,
            int numBlocks,
            int numRoles,
            ConfigInputs inputs,
            NDManager parent,
            BiFunction<String, Integer, float[]> init) {
        if (rank < 1) throw new IllegalArgumentException("rank must be >= 1");
        ConfigAwareNetwork net = new ConfigAwareNetwork(rank, inputs, parent.newSubManager());
        try {
            int[] vocab = ConfigFields.vocabularySizes(numBlocks, numRoles);
            for (int f = 0; f < ConfigFields.COUNT; f++)
                net.put("embedding." + ConfigFields.NAMES[f], init, vocab[f], EMBEDDING_DIM);
            if (inputs == ConfigInputs.FIELDS_AND_CONTINUOUS)
                net.put("continuous.weight", init, CONTINUOUS_FEATURES, EMBEDDING_DIM);
            int in = inputWidth(inputs);
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
        boolean continuous = inputs == ConfigInputs.FIELDS_AND_CONTINUOUS;
        NDArray[] embedded = new NDArray[ConfigFields.COUNT + (continuous ? 1 : 0)];
        for (int f = 0; f < ConfigFields.COUNT; f++) {
            NDArray table = params.get("embedding." + ConfigFields.NAMES[f]);
            int[] index = new int[n];
            // the blind control reads option 0 for every configuration field, the true block and role
            for (int i = 0; i < n; i++)
                index[i] = inputs == ConfigInputs.BLIND && f < ConfigFields.CONFIGURATION_FIELDS
                        ? 0
                        : fields.get(i).values()[f];
            // one-hot times table: an embedding lookup whose gradient is an ordinary matmul gradient
            embedded[f] =
                    scope.create(index).oneHot((int) table.getShape().get(0)).matMul(table);
        }
        if (continuous) {
            float[] features = new float[n * CONTINUOUS_FEATURES];
            for (int i = 0; i < n; i++)
                System.arraycopy(
                        continuousFeatures(fields.get(i)), 0, features, i * CONTINUOUS_FEATURES, CONTINUOUS_FEATURES);
            embedded[ConfigFields.COUNT] =
                    scope.create(features, new Shape(n, CONTINUOUS_FEATURES)).matMul(params.get("continuous.weight"));
        }
        NDArray x = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(embedded), 1);
        x = LayerNorm.layerNorm(
                        x, new Shape(x.getShape().get(1)), params.get("norm.weight"), params.get("norm.bias"), 1e-5f)
                .singletonOrThrow();
        x = x.matMul(params.get("hidden.weight")).add(params.get("hidden.bias"));
        x = x.mul(Activation.sigmoid(x)); // SiLU
        NDArray u =
                x.matMul(params.get("out.weight")).add(params.get("out.bias")).reshape(n, rank, rank);
        return u.mul(params.get("gain")).add(scope.eye(rank));
    }

    public int rank() {
        return rank;
    }

    public ConfigInputs inputs() {
        return inputs;
    }

    private static int inputWidth(ConfigInputs inputs) {
        return (ConfigFields.COUNT + (inputs == ConfigInputs.FIELDS_AND_CONTINUOUS ? 1 : 0)) * EMBEDDING_DIM;
    }

    /**
     * A matrix's configuration as numbers, each scaled to about [-1, 1] over the option grid: bits per weight, weight
     * bits b, scale bits b0, the scale type's bits, log2 of the block size B0 and of the group size B1.
     */
    public static float[] continuousFeatures(ConfigFields f) {
        ai.coalora.engine.quant.QuantConfig c = f.option();
        return new float[] {
            (float) ((c.bitsPerWeight() - 5.0) / 3.0),
            (c.b() - 5f) / 3f,
            (c.b0() - 5f) / 3f,
            (c.b1().bits() - 24f) / 8f,
            (float) ((Math.log(c.B0()) / Math.log(2) - 5) / 1),
            (float) ((Math.log(c.B1()) / Math.log(2) - 6) / 2),
        };
    }

    /** Trainable arrays by bundle name, in a fixed order. */
    public Map<String, NDArray> parameters() {
        return params;
    }

    private void put(String name, BiFunction<String, Integer, float[]> init, long... shape) {
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
        Arrays.fill(v, value);
        return v;
    }

    /** Input fields of every matrix of a configuration, in the configuration's matrix order. */
    public static List<ConfigFields> fieldsOf(ai.coalora.engine.quant.ModelQuantConfig config) {
        return config.matrices().stream()
                .map(e -> ConfigFields.of(LinearId.parse(e.matrix().name()), e.config()))
                .toList();
    }

    @Override
    public void close() {
        manager.close();
    }
}
