package ai.coalora.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/** Token ids padded to the longest sequence of the batch, and the mask that marks real tokens. */
public record TokenBatch(NDArray ids, NDArray mask, long realTokens) {

    public static TokenBatch of(List<long[]> sequences, NDManager manager) {
        int batch = sequences.size();
        int len = 1;
        for (long[] s : sequences) len = Math.max(len, s.length);
        long[] ids = new long[batch * len];
        float[] mask = new float[batch * len];
        long real = 0;
        for (int i = 0; i < batch; i++) {
            long[] s = sequences.get(i);
            System.arraycopy(s, 0, ids, i * len, s.length);
            for (int t = 0; t < s.length; t++) mask[i * len + t] = 1f;
            real += s.length;
        }
        return new TokenBatch(
                manager.create(ids, new Shape(batch, len)), manager.create(mask, new Shape(batch, len)), real);
    }

    public int size() {
        return (int) ids.getShape().get(0);
    }

    public int length() {
        return (int) ids.getShape().get(1);
    }
}
