package ai.coalora.engine.decoder;

import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.QuantizableModel;
import ai.coalora.engine.model.Role;
import ai.coalora.engine.model.StepScope;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Llama / Qwen2 decoder written out with DJL operations, top to bottom:
 * <pre>
 * x = embed_tokens[ids]
 * for each block:
 *     x = x + o_proj(attention(rope(q_proj(rms1(x))), rope(k_proj(rms1(x))), v_proj(rms1(x)), causal))
 *     x = x + down_proj(silu(gate_proj(rms2(x))) * up_proj(rms2(x)))
 * logits = lm_head(norm(x))          (lm_head = embed_tokens when tie_word_embeddings)
 * </pre>
 * Rotary embeddings use HF's rotate_half convention (the first and second halves of a head are the pairs);
 * grouped-query attention repeats each k/v head for {@link LlamaConfig#groupSize()} query heads.
 *
 * <p>Parameters live in this decoder's own manager (linear weights stored transposed, in x out, once). Every
 * forward pass works in a sub-manager of the caller's ids' manager, which it closes: only the result
 * survives, in the ids' manager.
 *
 * <p>The seven matrices of every block (q, k, v, o, gate, up, down) are the quantizable ones: a forward pass can
 * take them from another {@link BaseWeights} (one quantization configuration's dequantized weights) and add an
 * {@link Adapter}'s output to each (LoRA); embeddings, norms, biases and {@code lm_head} stay as loaded.
 */
public final class LlamaDecoder implements QuantizableModel, AutoCloseable {
    private final LlamaConfig config;
    private final NDManager manager;
    /** Norm weights, biases and the embedding table, by HF name. */
    private final Map<String, NDArray> params = new HashMap<>();
    /** Linear weights by HF name, transposed to (in x out) so that y = x W^T is x.matMul(w). */
    private final Map<String, NDArray> transposed = new HashMap<>();
    /** lm_head.weight (or the tied embeddings) transposed: (hidden x vocab). */
    private final NDArray lmHeadT;
    /** The seven matrices per block as they are loaded (a view on {@link #transposed}: training them trains this). */
    private final BaseWeights fullPrecision;

    private LlamaDecoder(HfCheckpoint checkpoint, NDManager parent) {
        this.config = checkpoint.config();
        this.manager = parent.newSubManager();
        for (Map.Entry<String, Tensor> e : checkpoint.tensors().entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            float[] values = t.floats();
            if (t.shape().length == 2 && !name.equals("model.embed_tokens.weight")) {
                transposed.put(
                        name,
                        manager.create(
                                transpose(values, (int) t.shape()[0], (int) t.shape()[1]),
                                new Shape(t.shape()[1], t.shape()[0])));
            } else {
                params.put(name, manager.create(values, new Shape(t.shape())));
            }
        }
        if (config.tieWordEmbeddings()) {
            Tensor embed = checkpoint.tensor("model.embed_tokens.weight");
            lmHeadT = manager.create(
                    transpose(embed.floats(), config.vocabSize(), config.hiddenSize()),
                    new Shape(config.hiddenSize(), config.vocabSize()));
        } else {
            lmHeadT = transposed.get("lm_head.weight");
        }
        Map<LinearId, NDArray> linear = new TreeMap<>();
        for (LinearId id : linearIds()) linear.put(id, transposed.get(id.weightName()));
        fullPrecision = BaseWeights.viewOf(manager, linear);
    }

    /** A decoder holding the checkpoint's weights (copied into native memory under a sub-manager of {@code manager}). */
    public static LlamaDecoder of(HfCheckpoint checkpoint, NDManager manager) {
        return new LlamaDecoder(checkpoint, manager);
    }

    /** {@link HfCheckpoint#load} then {@link #of}: a Hugging Face model directory, ready to run. */
    public static LlamaDecoder load(Path dir, NDManager manager) throws IOException {
        return of(HfCheckpoint.load(dir), manager);
    }

    public LlamaConfig config() {
        return config;
    }

    @Override
    public Role.Architecture architecture() {
        return Role.Architecture.DECODER;
    }

    @Override
    public int numBlocks() {
        return config.numLayers();
    }

    @Override
    public List<LinearId> linearIds() {
        return LinearId.all(Role.Architecture.DECODER, config.numLayers());
    }

    @Override
    public int[] linearShape(LinearId id) {
        Shape t = linearTransposed(id).getShape(); // stored (in x out)
        return new int[] {(int) t.get(1), (int) t.get(0)};
    }

    /** The current weights (they change while pretraining) in the HF layout. */
    @Override
    public float[] linearWeight(LinearId id) {
        int[] s = linearShape(id);
        return transpose(linearTransposed(id).toFloatArray(), s[1], s[0]);
    }

    @Override
    public BaseWeights fullPrecision() {
        return fullPrecision;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    private NDArray linearTransposed(LinearId id) {
        NDArray w = id.role().architecture() == Role.Architecture.DECODER ? transposed.get(id.weightName()) : null;
        if (w == null) throw new IllegalArgumentException("this decoder has no matrix " + id.weightName());
        return w;
    }

    /**
     * Logits (batch x seq x vocab, float32) for token ids (batch x seq, int64), each position seeing only itself
     * and earlier positions. The result lives in the ids' manager; every intermediate is freed.
     */
    public NDArray forward(NDArray ids) {
        return forward(ids, fullPrecision, null);
    }

    /** {@link #forward(NDArray)} with the block matrices from {@code base} and {@code adapter} (null: none) added to each. */
    public NDArray forward(NDArray ids, BaseWeights base, Adapter adapter) {
        checkIds(ids);
        NDManager caller = ids.getManager();
        try (NDManager scope = caller.newSubManager()) {
            NDArray logits = forwardIn(scope, ids, base, adapter);
            logits.attach(caller);
            return logits;
        }
    }

    /** Mean next-token cross entropy (nats) over all batch x (seq - 1) predictions; a scalar in the ids' manager. */
    public NDArray loss(NDArray ids) {
        return loss(ids, fullPrecision, null);
    }

    /** {@link #loss(NDArray)} on {@code base} with {@code adapter} (null: none). */
    public NDArray loss(NDArray ids, BaseWeights base, Adapter adapter) {
        checkIds(ids);
        long seq = ids.getShape().get(1);
        if (seq < 2) throw new IllegalArgumentException("loss needs at least 2 tokens per sequence, got " + seq);
        NDManager caller = ids.getManager();
        try (NDManager scope = caller.newSubManager()) {
            NDArray loss = lossIn(scope, ids, base, adapter);
            loss.attach(caller);
            return loss;
        }
    }

    /** Mean next-token cross entropy (nats) of each sequence of the batch on {@code base} with {@code adapter}. */
    public float[] sequenceLosses(NDArray ids, BaseWeights base, Adapter adapter) {
        checkIds(ids);
        if (ids.getShape().get(1) < 2) throw new IllegalArgumentException("loss needs at least 2 tokens per sequence");
        try (NDManager scope = ids.getManager().newSubManager()) {
            return tokenLosses(scope, ids, base, adapter)
                    .squeeze(-1)
                    .mean(new int[] {1})
                    .toFloatArray();
        }
    }

    /**
     * {@link #loss}, for a backward pass: every intermediate stays in the ids' manager (the training step's
     * scope, closed by the caller after the update) so that autograd still holds the whole graph.
     */
    public NDArray trainingLoss(NDArray ids) {
        return trainingLoss(ids, fullPrecision, null);
    }

    /** {@link #trainingLoss(NDArray)} on {@code base} with {@code adapter}: what LoRA and CoA-LoRA train through. */
    public NDArray trainingLoss(NDArray ids, BaseWeights base, Adapter adapter) {
        checkIds(ids);
        if (ids.getShape().get(1) < 2) throw new IllegalArgumentException("loss needs at least 2 tokens per sequence");
        return lossIn(ids.getManager(), ids, base, adapter);
    }

    private NDArray lossIn(NDManager scope, NDArray ids, BaseWeights base, Adapter adapter) {
        return tokenLosses(scope, ids, base, adapter).mean();
    }

    /** -log p(token t+1 | tokens up to t) for every position: (b, seq - 1, 1). */
    private NDArray tokenLosses(NDManager scope, NDArray ids, BaseWeights base, Adapter adapter) {
        NDArray logits = forwardIn(scope, ids, base, adapter);
        NDArray predictions = logits.get(":, :-1, :"); // position t predicts token t+1
        NDArray targets = StepScope.own(ids.get(":, 1:"), logits).expandDims(-1); // (b, seq - 1, 1)
        // -log p(target): gather picks each target's log-probability without a (b, seq, vocab) one-hot
        return predictions.logSoftmax(-1).gather(targets, -1).neg();
    }

    /**
     * The trainable arrays, by HF name (linear weights in their stored in x out layout). Only for untied
     * decoders: with tied embeddings the output projection is a separate copy that training would let drift.
     */
    public Map<String, NDArray> parameters() {
        if (config.tieWordEmbeddings()) {
            throw new UnsupportedOperationException("training a decoder with tied embeddings is not supported");
        }
        Map<String, NDArray> all = new LinkedHashMap<>();
        for (String name : HfCheckpoint.requiredShapes(config).keySet()) {
            all.put(name, transposed.containsKey(name) ? transposed.get(name) : params.get(name));
        }
        return all;
    }

    /** The current weights as a checkpoint (HF layout, F32): what {@link HfCheckpoint#save} writes and {@link #load} reads back. */
    public HfCheckpoint toCheckpoint() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : HfCheckpoint.requiredShapes(config).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            float[] values;
            if (transposed.containsKey(name)) {
                values = transpose(transposed.get(name).toFloatArray(), (int) shape[1], (int) shape[0]);
            } else {
                values = params.get(name).toFloatArray();
            }
            tensors.put(name, Tensor.ofFloats(values, shape));
        }
        return new HfCheckpoint(config, tensors);
    }

    /** exp(mean next-token cross entropy) of the sequences. */
    public double perplexity(NDArray ids) {
        try (NDArray loss = loss(ids)) {
            return perplexity(loss.getFloat());
        }
    }

    /** Perplexity of a mean cross entropy in nats. */
    public static double perplexity(double meanCrossEntropy) {
        return Math.exp(meanCrossEntropy);
    }

    private NDArray forwardIn(NDManager scope, NDArray ids, BaseWeights base, Adapter adapter) {
        int b = (int) ids.getShape().get(0), t = (int) ids.getShape().get(1), h = config.hiddenSize();
        NDArray flat = ids.reshape(-1);
        flat.attach(scope); // a view's result lands in the caller's manager; this step owns it
        NDArray x = StepScope.own(params.get("model.embed_tokens.weight").get(new NDIndex("{}", flat)), flat)
                .reshape(b, t, h);

        Rope rope = Rope.of(scope, t, config.headDim(), config.ropeTheta());
        NDArray causalMask = causalMask(scope, t);
        for (int block = 0; block < config.numLayers(); block++) {
            Block weights = new Block(block, base, adapter);
            String p = "model.layers." + block + ".";
            x = x.add(attention(weights, rmsNorm(x, p + "input_layernorm.weight"), rope, causalMask));
            x = x.add(mlp(weights, rmsNorm(x, p + "post_attention_layernorm.weight")));
        }
        return rmsNorm(x, "model.norm.weight").matMul(lmHeadT);
    }

    /** Causal self-attention of one block: (batch, seq, hidden) -> (batch, seq, hidden). */
    private NDArray attention(Block w, NDArray x, Rope rope, NDArray causalMask) {
        int kvHeads = config.numKeyValueHeads(), d = config.headDim();
        NDArray q = rope.apply(heads(w.linear(Role.Q_PROJ, x), config.numHeads()));
        NDArray k = rope.apply(heads(w.linear(Role.K_PROJ, x), kvHeads));
        NDArray v = heads(w.linear(Role.V_PROJ, x), kvHeads);
        k = repeatKeyValue(k);
        v = repeatKeyValue(v);

        // softmax(q k^T / sqrt(d) + mask) v, per head
        NDArray scores =
                q.matMul(k.transpose(0, 1, 3, 2)).div((float) Math.sqrt(d)).add(causalMask);
        NDArray context = scores.softmax(-1).matMul(v); // (b, heads, seq, d)
        Shape s = x.getShape();
        context = context.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(1), config.queryWidth());
        return w.linear(Role.O_PROJ, context);
    }

    /** SwiGLU: down(silu(gate(x)) * up(x)). */
    private NDArray mlp(Block w, NDArray x) {
        NDArray gate = w.linear(Role.GATE_PROJ, x);
        NDArray silu = gate.mul(Activation.sigmoid(gate));
        return w.linear(Role.DOWN_PROJ, silu.mul(w.linear(Role.UP_PROJ, x)));
    }

    /** RMSNorm: x / sqrt(mean(x^2) + eps) * weight, over the hidden axis. */
    private NDArray rmsNorm(NDArray x, String weight) {
        NDArray rms = x.square()
                .mean(new int[] {-1}, true)
                .add((float) config.rmsNormEps())
                .sqrt();
        return x.div(rms).mul(params.get(weight));
    }

    /** One block's linear layers: its matrices from a {@link BaseWeights}, its biases as loaded, plus the adapter. */
    private final class Block {
        private final int index;
        private final BaseWeights base;
        private final Adapter adapter;

        Block(int index, BaseWeights base, Adapter adapter) {
            this.index = index;
            this.base = base;
            this.adapter = adapter;
        }

        /** y = x W^T (+ b) (+ adapter delta) for the block's matrix of {@code role}. */
        NDArray linear(Role role, NDArray x) {
            LinearId id = new LinearId(index, role);
            NDArray y = x.matMul(base.transposed(id));
            NDArray bias = params.get(id.biasName());
            if (bias != null) y = y.add(bias);
            NDArray delta = adapter == null ? null : adapter.delta(id, x);
            return delta == null ? y : y.add(delta);
        }
    }

    /** (batch, seq, n x d) -> (batch, n, seq, d). */
    private NDArray heads(NDArray x, int n) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), n, config.headDim()).transpose(0, 2, 1, 3);
    }

    /** Grouped-query attention: (batch, kvHeads, seq, d) -> (batch, heads, seq, d), k/v head i serving query heads i*g .. i*g+g-1. */
    private NDArray repeatKeyValue(NDArray kv) {
        int g = config.groupSize();
        if (g == 1) return kv;
        Shape s = kv.getShape();
        return kv.expandDims(2).repeat(2, g).reshape(s.get(0), s.get(1) * g, s.get(2), s.get(3));
    }

    /** 0 where key position <= query position, a large negative number above the diagonal: (seq, seq). */
    private static NDArray causalMask(NDManager scope, int t) {
        float[] mask = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) mask[i * t + j] = -1e9f;
        }
        return scope.create(mask, new Shape(t, t));
    }

    /**
     * Rotary position embeddings, HF convention: inv_freq_i = theta^(-2i/d) for i < d/2, angle(pos, i) =
     * pos * inv_freq_(i mod d/2) over the whole head (both in float32, like transformers), and x' = x cos + rotate_half(x) sin with
     * rotate_half([x1, x2]) = [-x2, x1] (x1, x2 the first and second halves).
     */
    private record Rope(NDArray cos, NDArray sin, int half) {
        static Rope of(NDManager scope, int seq, int d, double theta) {
            float[] cos = new float[seq * d], sin = new float[seq * d];
            int half = d / 2;
            for (int pos = 0; pos < seq; pos++) {
                for (int i = 0; i < d; i++) {
                    // float32 steps as transformers takes them, so that long positions agree with it too
                    float invFreq = 1.0f / (float) Math.pow(theta, (float) (2 * (i % half)) / d);
                    float angle = pos * invFreq;
                    cos[pos * d + i] = (float) Math.cos(angle);
                    sin[pos * d + i] = (float) Math.sin(angle);
                }
            }
            return new Rope(scope.create(cos, new Shape(seq, d)), scope.create(sin, new Shape(seq, d)), half);
        }

        /** (batch, heads, seq, d) with rotated positions. */
        NDArray apply(NDArray x) {
            NDArray x1 = x.get("..., :" + half);
            NDArray x2 = x.get("..., " + half + ":");
            NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
            return x.mul(cos).add(rotated.mul(sin));
        }
    }

    private void checkIds(NDArray ids) {
        if (ids.getDataType() != DataType.INT64 || ids.getShape().dimension() != 2) {
            throw new IllegalArgumentException(
                    "token ids must be int64 (batch x seq), got " + ids.getDataType() + " " + ids.getShape());
        }
        long seq = ids.getShape().get(1);
        if (seq < 1 || ids.getShape().get(0) < 1) throw new IllegalArgumentException("empty batch " + ids.getShape());
        if (seq > config.maxPositions()) {
            throw new IllegalArgumentException(seq + " tokens exceed max_position_embeddings " + config.maxPositions());
        }
        long[] values = ids.toLongArray();
        for (long id : values) {
            if (id < 0 || id >= config.vocabSize())
                throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + config.vocabSize());
        }
    }

    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        }
        return t;
    }

    @Override
    public void close() {
        manager.close();
    }
}
