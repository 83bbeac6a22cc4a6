package ai.coalora.engine.lm;

import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.io.Safetensors.Tensor;
import ai.coalora.engine.train.AdamW;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Pretrains a small Llama-architecture decoder from scratch on {@link LmCorpus}'s train split:
 * a byte-level BPE tokenizer is trained on the train documents, the documents are encoded (an
 * end-of-text token between them) and cut into non-overlapping windows, and the decoder (seeded
 * normal init, std 0.02, residual output projections scaled by 1/sqrt(2 layers), untied head) is
 * trained with AdamW (linear warm-up, cosine decay to a tenth over the steps or the time budget, global-norm clipping), every step in
 * its own sub-manager. At the end the held-out perplexity is measured on a bounded number of held-out
 * windows, and config.json, model.safetensors and tokenizer.json are written into the output folder.
 */
public final class Pretraining {
    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String TOKENIZER_FILE = "tokenizer.json";

    /**
     * @param trainChars   at most this many characters of train text are used (0: all)
     * @param maxSteps     optimizer steps (the schedule's length); training stops earlier when {@code minutes} run out
     * @param minutes      wall-clock budget for the training loop (0: none)
     * @param evalSequences held-out windows scored at the end (at most)
     * @param logEvery     report the mean training loss every this many steps
     */
    public record Settings(
            int vocabSize,
            int hiddenSize,
            int numLayers,
            int numHeads,
            int numKeyValueHeads,
            int intermediateSize,
            int seqLen,
            int batchSize,
            int maxSteps,
            double minutes,
            float learningRate,
            int warmupSteps,
            float weightDecay,
            float clipNorm,
            long seed,
            int evalSequences,
            int logEvery,
            long trainChars) {
        public Settings {
            if (seqLen < 2) throw new IllegalArgumentException("sequence length must be at least 2, got " + seqLen);
            if (batchSize < 1 || maxSteps < 1)
                throw new IllegalArgumentException("batch size and steps must be positive");
            if (hiddenSize % numHeads != 0)
                throw new IllegalArgumentException("hidden " + hiddenSize + " is not a multiple of heads " + numHeads);
        }

        /**
         * A few million parameters: hidden 256, 4 layers, 4 heads (2 kv), intermediate 768, vocab 4096, 128 tokens.
         * Both widths are multiples of 256, GGUF's K-quant block: every weight matrix can take the type its
         * configuration maps to, none falls back to F16.
         */
        public static Settings defaults() {
            return new Settings(4096, 256, 4, 4, 2, 768, 128, 16, 2000, 0, 1e-3f, 100, 0.01f, 1.0f, 42, 64, 50, 0);
        }

        /** Learning rate at {@code step} (0-based) of {@code maxSteps}: see {@link #learningRateAt(double)}. */
        public float learningRateAt(int step) {
            return learningRateAt((double) step / maxSteps);
        }

        /**
         * Learning rate at a fraction {@code f} of the run: linear warm-up over the first warmupSteps / maxSteps,
         * then cosine decay to a tenth of the peak at f = 1. With a time budget, f is the larger of the step
         * fraction and the elapsed fraction of the budget, so that a short run still decays.
         */
        public float learningRateAt(double f) {
            double warm = Math.min(0.5, (double) warmupSteps / maxSteps);
            if (f < warm) return (float) (learningRate * Math.max(f, 1.0 / maxSteps) / warm);
            double progress = (f - warm) / (1 - warm);
            double cosine = 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
            return (float) (learningRate * (0.1 + 0.9 * cosine));
        }
    }

    /** The mean training loss over steps (from, to]. */
    public record LossPoint(int step, double loss) {}

    public record Result(
            LlamaConfig config,
            long parameters,
            int steps,
            long trainTokens,
            long tokensSeen,
            double trainSeconds,
            double tokensPerSecond,
            List<LossPoint> losses,
            double heldOutLoss,
            double heldOutPerplexity,
            int heldOutSequences) {
        public double firstLoss() {
            return losses.get(0).loss();
        }

        public double lastLoss() {
            return losses.get(losses.size() - 1).loss();
        }
    }

    private Pretraining() {}

    /** The config {@code settings} describes, for a tokenizer of {@code vocab} tokens: Llama, untied, rope_theta 1e4. */
    public static LlamaConfig config(Settings s, int vocab) {
        return LlamaConfig.llama(
                vocab,
                s.hiddenSize(),
                s.intermediateSize(),
                s.numLayers(),
                s.numHeads(),
                s.numKeyValueHeads(),
                1e-5,
                10000.0,
                s.seqLen(),
                false);
    }

    /** Seeded initialization: normal(0, 0.02), o_proj and down_proj scaled by 1/sqrt(2 layers), norms 1. */
    public static HfCheckpoint initialize(LlamaConfig c, long seed) {
        Random random = new Random(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * c.numLayers());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : HfCheckpoint.requiredShapes(c).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            int n = (int) Arrays.stream(shape).reduce(1, Math::multiplyExact);
            float[] v = new float[n];
            if (name.endsWith("norm.weight")) {
                Arrays.fill(v, 1f);
            } else if (!name.endsWith(".bias")) {
                double std = name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight") ? residualStd : 0.02;
                for (int i = 0; i < n; i++) v[i] = (float) (std * random.nextGaussian());
            }
            tensors.put(name, Tensor.ofFloats(v, shape));
        }
        return new HfCheckpoint(c, tensors);
    }

    /** Number of scalars in a decoder of this config. */
    public static long parameterCount(LlamaConfig c) {
        long total = 0;
        for (long[] shape : HfCheckpoint.requiredShapes(c).values()) {
            long n = 1;
            for (long d : shape) n *= d;
            total += n;
        }
        return total;
    }

    /** Concatenated token ids of the documents, each followed by the end-of-text token. */
    static int[] encodeAll(BpeTokenizer tokenizer, List<String> texts) {
        int eot = tokenizer.id(END_OF_TEXT);
        List<int[]> parts = new ArrayList<>();
        int total = 0;
        for (String t : texts) {
            int[] ids = tokenizer.encode(t);
            parts.add(ids);
            total += ids.length + 1;
        }
        int[] all = new int[total];
        int at = 0;
        for (int[] ids : parts) {
            System.arraycopy(ids, 0, all, at, ids.length);
            at += ids.length;
            all[at++] = eot;
        }
        return all;
    }

    /** The document texts, cut so that together they hold at most {@code maxChars} characters (0: all). */
    static List<String> texts(List<LmCorpus.Document> docs, long maxChars) {
        List<String> texts = new ArrayList<>();
        long left = maxChars <= 0 ? Long.MAX_VALUE : maxChars;
        for (LmCorpus.Document d : docs) {
            if (left <= 0) break;
            String t = d.text().length() > left ? d.text().substring(0, (int) left) : d.text();
            texts.add(t);
            left -= t.length();
        }
        return texts;
    }

    /**
     * Trains a tokenizer and a decoder as {@code settings} say and writes them into {@code out}; progress
     * lines go to {@code log}.
     */
    public static Result run(LmCorpus corpus, Settings s, Path out, NDManager parent, Consumer<String> log)
            throws IOException {
        List<String> trainTexts = texts(corpus.train(), s.trainChars());
        long t0 = System.nanoTime();
        BpeTokenizer tokenizer = BpeTokenizer.train(trainTexts, s.vocabSize(), List.of(END_OF_TEXT));
        int[] trainIds = encodeAll(tokenizer, trainTexts);
        int[] heldIds = encodeAll(
                tokenizer, texts(corpus.heldOut(), s.trainChars() <= 0 ? 0 : Math.max(1, s.trainChars() / 4)));
        log.accept(String.format(
                "tokenizer: %d tokens (%.1f s); train %d tokens, held-out %d tokens",
                tokenizer.vocabSize(), (System.nanoTime() - t0) / 1e9, trainIds.length, heldIds.length));
        int trainWindows = trainIds.length / s.seqLen();
        int heldWindows = Math.min(s.evalSequences(), heldIds.length / s.seqLen());
        if (trainWindows < 1 || heldWindows < 1) {
            throw new IllegalArgumentException("corpus too short for sequences of " + s.seqLen() + " tokens");
        }

        LlamaConfig config = config(s, tokenizer.vocabSize());
        long parameters = parameterCount(config);
        log.accept(String.format(
                "model: %d parameters (hidden %d, %d layers, %d heads / %d kv, intermediate %d, vocab %d)",
                parameters,
                config.hiddenSize(),
                config.numLayers(),
                config.numHeads(),
                config.numKeyValueHeads(),
                config.intermediateSize(),
                config.vocabSize()));

        try (NDManager manager = parent.newSubManager();
                LlamaDecoder decoder = LlamaDecoder.of(initialize(config, s.seed()), manager)) {
            List<NDArray> params = new ArrayList<>(decoder.parameters().values());
            for (NDArray p : params) p.setRequiresGradient(true);
            Random shuffle = new Random(s.seed() + 1);
            int[] order = permutation(trainWindows, shuffle);
            int cursor = 0;
            List<LossPoint> losses = new ArrayList<>();
            long tokensSeen = 0;
            double lossSum = 0;
            int lossCount = 0, step = 0;
            long start = System.nanoTime();
            long budget = s.minutes() > 0 ? (long) (s.minutes() * 60e9) : Long.MAX_VALUE;
            try (AdamW optimizer = new AdamW(params, s.weightDecay(), s.clipNorm(), manager)) {
                while (step < s.maxSteps() && System.nanoTime() - start < budget) {
                    long[] batch = new long[s.batchSize() * s.seqLen()];
                    for (int b = 0; b < s.batchSize(); b++) {
                        if (cursor == order.length) {
                            order = permutation(trainWindows, shuffle);
                            cursor = 0;
                        }
                        int w = order[cursor++];
                        for (int i = 0; i < s.seqLen(); i++) batch[b * s.seqLen() + i] = trainIds[w * s.seqLen() + i];
                    }
                    float l, lr;
                    try (NDManager scope = manager.newSubManager()) {
                        NDArray ids = scope.create(batch, new Shape(s.batchSize(), s.seqLen()));
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray loss = decoder.trainingLoss(ids);
                            gc.backward(loss);
                            l = loss.getFloat();
                        }
                        lr = s.learningRateAt(
                                Math.max((double) step / s.maxSteps(), (double) (System.nanoTime() - start) / budget));
                        optimizer.step(lr);
                    }
                    step++;
                    tokensSeen += batch.length;
                    if (Float.isFinite(l)) {
                        lossSum += l;
                        lossCount++;
                    }
                    if (step % s.logEvery() == 0 || step == s.maxSteps()) {
                        double mean = lossCount == 0 ? Double.NaN : lossSum / lossCount;
                        losses.add(new LossPoint(step, mean));
                        double secs = (System.nanoTime() - start) / 1e9;
                        log.accept(String.format(
                                "step %d/%d  train loss %.4f  lr %.2e  %.0f tokens/s",
                                step, s.maxSteps(), mean, lr, tokensSeen / secs));
                        lossSum = 0;
                        lossCount = 0;
                    }
                }
            }
            if (lossCount > 0) losses.add(new LossPoint(step, lossSum / lossCount));
            double seconds = (System.nanoTime() - start) / 1e9;
            for (NDArray p : params) p.setRequiresGradient(false);

            double heldOutLoss = heldOutLoss(decoder, heldIds, heldWindows, s.seqLen());
            double ppl = LlamaDecoder.perplexity(heldOutLoss);
            log.accept(String.format(
                    "held-out: %d sequences of %d tokens, loss %.4f, perplexity %.2f",
                    heldWindows, s.seqLen(), heldOutLoss, ppl));

            decoder.toCheckpoint().save(out);
            tokenizer.save(out.resolve(TOKENIZER_FILE));
            return new Result(
                    config,
                    parameters,
                    step,
                    trainIds.length,
                    tokensSeen,
                    seconds,
                    tokensSeen / seconds,
                    List.copyOf(losses),
                    heldOutLoss,
                    ppl,
                    heldWindows);
        }
    }

    /** Mean next-token cross entropy over the first {@code windows} windows of {@code seqLen} tokens of {@code ids}. */
    static double heldOutLoss(LlamaDecoder decoder, int[] ids, int windows, int seqLen) {
        TokenWindows held = new TokenWindows(Arrays.copyOf(ids, windows * seqLen), seqLen);
        return LanguageModelLoss.meanLoss(decoder, held, decoder.fullPrecision(), null);
    }

    private static int[] permutation(int n, Random random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
