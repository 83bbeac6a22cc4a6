package ai.coalora.engine.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** WordPiece tokenization through DJL's binding of Hugging Face tokenizers; no padding (batches pad). */
public final class BertTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;

    public BertTokenizer(Path tokenizerJson, int maxLength) throws IOException {
        this.maxLength = maxLength;
        this.tokenizer = HuggingFaceTokenizer.newInstance(
                tokenizerJson,
                Map.of(
                        "padding", "false",
                        "truncation", "true",
                        "maxLength", Integer.toString(maxLength)));
    }

    /** The pretrained MiniLM's own tokenizer. */
    public static BertTokenizer miniLm(int maxLength) throws IOException {
        return new BertTokenizer(MiniLmArtifact.tokenizerFile(), maxLength);
    }

    public int maxLength() {
        return maxLength;
    }

    /** Token ids with [CLS] ... [SEP], truncated to {@link #maxLength()}. */
    public long[] encode(String text) {
        Encoding e = tokenizer.encode(text);
        return e.getIds();
    }

    public List<long[]> encodeAll(List<String> texts) {
        List<long[]> out = new ArrayList<>(texts.size());
        for (String t : texts) out.add(encode(t));
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
