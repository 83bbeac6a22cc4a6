package ai.coalora.engine.quant.plan;

import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.lm.TokenWindows;
import ai.coalora.engine.model.Adapter;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.BertTokenizer;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.TokenBatch;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Input importance of every quantizable matrix: E[x_j^2], the mean square of each input feature over
 * the real tokens of a calibration set. Weighting the squared weight error of column j by E[x_j^2] gives
 * the expected squared error of the layer's output (for uncorrelated inputs): the cheap proxy for the
 * Fisher-weighted error that the budgeted allocation minimises.
 */
public final class Calibration {
    private Calibration() {}

    public static Map<LinearId, float[]> inputImportance(
            BertEncoder encoder, BertTokenizer tokenizer, List<String> texts, int batchSize) {
        Importance importance = new Importance();
        for (int from = 0; from < texts.size(); from += batchSize) {
            List<long[]> ids = tokenizer.encodeAll(texts.subList(from, Math.min(texts.size(), from + batchSize)));
            try (NDManager scope = encoder.manager().newSubManager()) {
                TokenBatch batch = TokenBatch.of(ids, scope);
                encoder.forward(
                        batch,
                        encoder.fullPrecision(),
                        importance.observer(batch.mask().reshape(-1, 1), batch.realTokens()));
            }
        }
        return importance.means();
    }

    /** Input importance of a decoder over the first (at most) {@code maxWindows} token windows, 8 windows per forward pass. */
    public static Map<LinearId, float[]> inputImportance(LlamaDecoder decoder, TokenWindows windows, int maxWindows) {
        Importance importance = new Importance();
        int n = Math.min(maxWindows, windows.count());
        for (int from = 0; from < n; from += 8) {
            int to = Math.min(n, from + 8);
            try (NDManager scope = decoder.manager().newSubManager()) {
                decoder.forward(
                        windows.batch(from, to, scope),
                        decoder.fullPrecision(),
                        importance.observer(null, (long) (to - from) * windows.seqLen()));
            }
        }
        return importance.means();
    }

    /**
     * Sums of squared layer inputs over the real tokens of the forward passes it observes (any model: pass
     * {@link #observer} as the adapter of a full-precision forward pass), and their means.
     */
    public static final class Importance {
        private final Map<LinearId, double[]> sums = new TreeMap<>();
        private long tokens;

        /**
         * An adapter that adds nothing and records every layer's input; {@code realTokens} is a (tokens x 1) 0/1
         * mask of the batch's flattened positions (null: every position is real), {@code count} their number.
         */
        public Adapter observer(NDArray realTokens, long count) {
            tokens += count;
            return (id, x) -> {
                long in = x.getShape().get(x.getShape().dimension() - 1);
                NDArray sq = x.reshape(-1, in).square();
                if (realTokens != null) sq = sq.mul(realTokens);
                float[] column = sq.sum(new int[] {0}).toFloatArray();
                double[] acc = sums.computeIfAbsent(id, k -> new double[column.length]);
                for (int j = 0; j < column.length; j++) acc[j] += column[j];
                return null;
            };
        }

        /** E[x_j^2] per matrix and input feature. */
        public Map<LinearId, float[]> means() {
            Map<LinearId, float[]> importance = new TreeMap<>();
            for (Map.Entry<LinearId, double[]> e : sums.entrySet()) {
                float[] mean = new float[e.getValue().length];
                for (int j = 0; j < mean.length; j++) mean[j] = (float) (e.getValue()[j] / Math.max(1, tokens));
                importance.put(e.getKey(), mean);
            }
            return importance;
        }
    }
}
