package ai.coalora.engine.model;

import ai.coalora.engine.quant.ModelQuantConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Dequantized base weights per configuration, materialised once and kept while there is room: training
 * visits the same configurations again and again, and re-quantizing at every step (what the reference
 * code effectively did by reloading from disk) would dominate the step time. Least recently used
 * configurations are closed first; {@code capacity} bounds native memory (about 42 MB per configuration
 * for MiniLM).
 */
public final class QuantizedWeightCache implements AutoCloseable {
    private final QuantizableModel model;
    private final int capacity;
    private final LinkedHashMap<ModelQuantConfig, BaseWeights> entries = new LinkedHashMap<>(16, 0.75f, true);
    private int materializations;

    public QuantizedWeightCache(QuantizableModel model, int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("cache capacity must be >= 1, got " + capacity);
        this.model = model;
        this.capacity = capacity;
    }

    /** The weights of {@code config}, materialised now if they are not cached. Do not close them: the cache owns them. */
    public synchronized BaseWeights get(ModelQuantConfig config) {
        BaseWeights w = entries.get(config);
        if (w != null) return w;
        w = QuantizedWeights.materialize(model, config);
        materializations++;
        entries.put(config, w);
        if (entries.size() > capacity) {
            Map.Entry<ModelQuantConfig, BaseWeights> eldest =
                    entries.entrySet().iterator().next();
            eldest.getValue().close();
            entries.remove(eldest.getKey());
        }
        return w;
    }

    public int capacity() {
        return capacity;
    }

    public synchronized int size() {
        return entries.size();
    }

    /** How many times a configuration was quantized (a miss); with room for the whole set, once per configuration. */
    public synchronized int materializations() {
        return materializations;
    }

    @Override
    public synchronized void close() {
        entries.values().forEach(BaseWeights::close);
        entries.clear();
    }
}
