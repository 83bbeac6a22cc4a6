package ai.coalora.engine.model;

import ai.djl.ndarray.NDManager;
import java.io.IOException;

/** The pretrained encoder and its tokenizer, loaded together and closed together. */
public final class PretrainedModel implements AutoCloseable {
    private final NDManager manager;
    private final BertEncoder encoder;
    private final BertTokenizer tokenizer;

    private PretrainedModel(NDManager manager, BertEncoder encoder, BertTokenizer tokenizer) {
        this.manager = manager;
        this.encoder = encoder;
        this.tokenizer = tokenizer;
    }

    /** all-MiniLM-L6-v2 with sequences truncated to {@code maxLength} tokens. */
    public static PretrainedModel miniLm(int maxLength) throws IOException {
        System.setProperty("ai.djl.offline", "true");
        NDManager manager = NDManager.newBaseManager();
        try {
            return new PretrainedModel(manager, BertEncoder.miniLm(manager), BertTokenizer.miniLm(maxLength));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public BertEncoder encoder() {
        return encoder;
    }

    public BertTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {
        tokenizer.close();
        manager.close();
    }
}
