package ai.coalora.engine.model;

/** Shape of a BERT encoder (the Hugging Face config fields we need). */
public record BertConfig(
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int intermediateSize,
        int maxPositions,
        int typeVocabSize,
        float layerNormEps) {

    /** sentence-transformers/all-MiniLM-L6-v2. */
    public static final BertConfig MINILM_L6 = new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f);

    public int headSize() {
        return hiddenSize / numHeads;
    }
}
