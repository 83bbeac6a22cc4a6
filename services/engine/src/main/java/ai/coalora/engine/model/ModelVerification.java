package ai.coalora.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * Checks our DJL forward pass against ONNX Runtime on real sentences: the largest absolute difference
 * of any sentence-embedding component. Our side runs in padded batches, so padding and masking are
 * checked too.
 */
public final class ModelVerification {

    public record Result(int sentences, double maxAbsDiff, double meanAbsDiff, double seconds) {}

    private ModelVerification() {}

    public static Result run(
            BertEncoder encoder,
            BertTokenizer tokenizer,
            OnnxReference reference,
            List<String> sentences,
            int batchSize)
            throws Exception {
        long start = System.nanoTime();
        double max = 0, sum = 0;
        long count = 0;
        for (int from = 0; from < sentences.size(); from += batchSize) {
            List<long[]> ids =
                    tokenizer.encodeAll(sentences.subList(from, Math.min(sentences.size(), from + batchSize)));
            try (NDManager step = encoder.manager().newSubManager()) {
                TokenBatch batch = TokenBatch.of(ids, step);
                NDArray pooled =
                        BertEncoder.meanPool(encoder.forward(batch, encoder.fullPrecision(), null), batch.mask());
                float[] ours = pooled.toFloatArray();
                int h = encoder.config().hiddenSize();
                for (int i = 0; i < ids.size(); i++) {
                    float[] theirs = reference.sentenceEmbedding(ids.get(i));
                    for (int j = 0; j < h; j++) {
                        double d = Math.abs(ours[i * h + j] - theirs[j]);
                        max = Math.max(max, d);
                        sum += d;
                        count++;
                    }
                }
            }
        }
        return new Result(sentences.size(), max, sum / Math.max(1, count), (System.nanoTime() - start) / 1e9);
    }
}
