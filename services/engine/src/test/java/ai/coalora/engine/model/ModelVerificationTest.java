package ai.coalora.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelVerificationTest {

    @Test
    void ourForwardPassMatchesOnnxRuntime() throws Exception {
        List<String> sentences = List.of(
                "The food was great and the staff friendly.",
                "Worst purchase ever, it broke after two days!",
                "ok",
                "I would not recommend this product to anyone I know, honestly.");
        try (NDManager manager = NDManager.newBaseManager();
                BertEncoder encoder = BertEncoder.miniLm(manager);
                BertTokenizer tokenizer = BertTokenizer.miniLm(128);
                OnnxReference reference = new OnnxReference(MiniLmArtifact.onnxFile())) {
            ModelVerification.Result r = ModelVerification.run(encoder, tokenizer, reference, sentences, 3);
            System.out.println(r);
            assertEquals(sentences.size(), r.sentences());
            assertTrue(r.maxAbsDiff() <= 1e-4, "max abs diff " + r.maxAbsDiff());
        }
    }
}
