package ai.coalora.engine.coa;

import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How much the configuration-aware network's M moves, over a set of configurations: its mean distance from the
 * identity, and how much it varies between configurations relative to that. A network that ignores the
 * configuration has spread 0; one that never left M = I has distance 0.
 *
 * @param mean                 per matrix, M averaged over the configurations (r x r, in the caller's scope)
 * @param distanceFromIdentity mean over matrices and configurations of ||M - I||_F
 * @param spread               mean over matrices of the RMS over configurations of ||M(c) - mean M||_F, divided by
 *                             {@code distanceFromIdentity}
 */
public record MixingStatistics(Map<LinearId, NDArray> mean, double distanceFromIdentity, double spread) {

    public static MixingStatistics of(ConfigAwareLora coa, List<ModelQuantConfig> configs, NDManager scope) {
        if (!coa.configAware()) throw new IllegalArgumentException("Shared-LoRA has no configuration-aware network");
        if (configs.isEmpty()) throw new IllegalArgumentException("no configurations");
        int r = coa.network().rank();
        Map<LinearId, float[][]> values = new HashMap<>();
        for (int k = 0; k < configs.size(); k++) {
            try (NDManager step = scope.newSubManager()) {
                int index = k;
                coa.mixing(configs.get(k), step)
                        .forEach((id, m) ->
                                values.computeIfAbsent(id, x -> new float[configs.size()][])[index] = m.toFloatArray());
            }
        }
        Map<LinearId, NDArray> mean = new HashMap<>();
        double distance = 0, spread = 0;
        for (Map.Entry<LinearId, float[][]> e : values.entrySet()) {
            float[][] ms = e.getValue();
            float[] avg = new float[r * r];
            for (float[] m : ms) for (int j = 0; j < avg.length; j++) avg[j] += m[j] / ms.length;
            double sq = 0;
            for (float[] m : ms) {
                double fromIdentity = 0;
                for (int j = 0; j < avg.length; j++) {
                    double identity = j / r == j % r ? 1 : 0;
                    fromIdentity += (m[j] - identity) * (m[j] - identity);
                    sq += (m[j] - avg[j]) * (m[j] - avg[j]);
                }
                distance += Math.sqrt(fromIdentity);
            }
            spread += Math.sqrt(sq / ms.length);
            mean.put(e.getKey(), scope.create(avg, new Shape(r, r)));
        }
        int matrices = values.size();
        distance /= (double) matrices * configs.size();
        spread /= matrices;
        return new MixingStatistics(mean, distance, distance == 0 ? 0 : spread / distance);
    }
}
