package ai.coalora.engine.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * ONNX Runtime's forward pass of the same ONNX file: an independent implementation to check ours
 * against. Returns mean-pooled sentence embeddings, like {@link BertEncoder#meanPool}.
 */
public final class OnnxReference implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    public OnnxReference(Path onnxFile) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        session = env.createSession(onnxFile.toString(), options);
    }

    public float[] sentenceEmbedding(long[] ids) throws OrtException {
        long[] shape = {1, ids.length};
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 1L);
        try (OnnxTensor inputIds = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(ones), shape);
                OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[ids.length]), shape);
                OrtSession.Result result =
                        session.run(Map.of("input_ids", inputIds, "attention_mask", mask, "token_type_ids", types))) {
            float[][][] hidden = (float[][][]) result.get(0).getValue();
            int hiddenSize = hidden[0][0].length;
            float[] pooled = new float[hiddenSize];
            for (float[] token : hidden[0]) {
                for (int j = 0; j < hiddenSize; j++) pooled[j] += token[j];
            }
            for (int j = 0; j < hiddenSize; j++) pooled[j] /= ids.length;
            return pooled;
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
