package ai.coalora.engine.train;

import ai.coalora.engine.model.*;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.*;
import org.junit.jupiter.api.Test;

class ScratchSpeedTest {
    @Test
    void speed() throws Exception {
        JsonNode arr = new ObjectMapper().readTree(Path.of(System.getProperty("user.home"), ".cache/coalora/data/sentiment-5.0.2/package/test/fixtures/amazon.json").toFile());
        List<String> texts = new ArrayList<>(); List<Integer> labels = new ArrayList<>();
        for (JsonNode n : arr) { if (!n.has("class")) continue; texts.add(n.get("text").asText()); labels.add(n.get("class").asInt()); }
        System.out.println("n=" + texts.size());
        int[] lab = labels.stream().mapToInt(Integer::intValue).toArray();
        try (NDManager m = NDManager.newBaseManager(); BertEncoder enc = BertEncoder.miniLm(m); BertTokenizer tok = BertTokenizer.miniLm(64)) {
            EncodedExamples train = EncodedExamples.of(tok, texts.subList(0, 700), Arrays.copyOfRange(lab, 0, 700));
            EncodedExamples val = EncodedExamples.of(tok, texts.subList(700, 850), Arrays.copyOfRange(lab, 700, 850));
            EncodedExamples test = EncodedExamples.of(tok, texts.subList(850, 999), Arrays.copyOfRange(lab, 850, 999));
            System.out.println("tokens/ex " + (double) train.tokens() / train.size());
            FineTuner ft = new FineTuner(enc, 2);
            FineTuner.Result r = ft.run(enc.fullPrecision(), FineTuneSettings.defaults().withEpochs(1), train, val, test, Progress.NONE);
            System.out.println(r.epochs() + " test=" + r.testAccuracy() + " tok/s=" + r.tokensPerSecond());
            if (false) r = ft.run(enc.fullPrecision(), FineTuneSettings.defaults().withLora(null), train, val, test, Progress.NONE);
            System.out.println("head only " + r.epochs() + " test=" + r.testAccuracy() + " tok/s=" + r.tokensPerSecond());
        }
    }
}
