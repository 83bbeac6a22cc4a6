package ai.coalora.engine.model;

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

    public static Map<LinearId, float[]> inputImportance(BertEncoder encoder, BertTokenizer tokenizer, List<String> texts,
                                                         int batchSize) {
        Map<LinearId, double[]> sums = new TreeMap<>();
        long[] tokens = {0};
        for (int from = 0; from < texts.size(); from += batchSize) {
            List<long[]> ids = tokenizer.encodeAll(texts.subList(from, Math.min(texts.size(), from + batchSize)));
            try (NDManager scope = encoder.manager().newSubManager()) {
                TokenBatch batch = TokenBatch.of(ids, scope);
                NDArray realTokens = batch.mask().reshape(-1, 1);
                tokens[0] += batch.realTokens();
                encoder.forward(batch, encoder.fullPrecision(), (id, x) -> {
                    long in = x.getShape().get(x.getShape().dimension() - 1);
                    float[] sq = x.reshape(-1, in).square().mul(realTokens).sum(new int[] {0}).toFloatArray();
                    double[] acc = sums.computeIfAbsent(id, k -> new double[sq.length]);
                    for (int j = 0; j < sq.length; j++) acc[j] += sq[j];
                    return null;
                });
            }
        }
        Map<LinearId, float[]> importance = new TreeMap<>();
        for (Map.Entry<LinearId, double[]> e : sums.entrySet()) {
            float[] mean = new float[e.getValue().length];
            for (int j = 0; j < mean.length; j++) mean[j] = (float) (e.getValue()[j] / Math.max(1, tokens[0]));
            importance.put(e.getKey(), mean);
        }
        return importance;
    }
}
