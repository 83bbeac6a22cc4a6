package ai.coalora.engine.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.engine.data.LmCorpus;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Trains on the real LM corpus (Moby-Dick + State of the Union), fetched by scripts/fetch-data.sh. */
class BpeCorpusTest {

    @Test
    void vocab4096OnTheTrainSplit(@TempDir Path dir) throws Exception {
        assumeTrue(
                LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh (skipping BpeCorpusTest)");
        LmCorpus corpus = LmCorpus.load();
        List<String> train =
                corpus.train().stream().map(LmCorpus.Document::text).toList();
        long trainBytes = train.stream()
                .mapToLong(s -> s.getBytes(StandardCharsets.UTF_8).length)
                .sum();

        long t0 = System.nanoTime();
        BpeTokenizer t = BpeTokenizer.train(train, 4096, List.of("<|endoftext|>"));
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(4096, t.vocabSize());

        long heldBytes = 0, heldTokens = 0;
        long t1 = System.nanoTime();
        for (LmCorpus.Document d : corpus.heldOut()) {
            int[] ids = t.encode(d.text());
            heldBytes += d.text().getBytes(StandardCharsets.UTF_8).length;
            heldTokens += ids.length;
            assertEquals(d.text(), t.decode(ids), "round trip of " + d.id());
        }
        double encodeSeconds = (System.nanoTime() - t1) / 1e9;
        double bytesPerToken = (double) heldBytes / heldTokens;
        System.out.printf(
                "BPE vocab 4096: trained on %.2f MB (%d documents) in %.2f s; held-out %.2f MB (%d documents)"
                        + " -> %d tokens, %.3f bytes/token, encoded in %.2f s%n",
                trainBytes / 1e6,
                train.size(),
                trainSeconds,
                heldBytes / 1e6,
                corpus.heldOut().size(),
                heldTokens,
                bytesPerToken,
                encodeSeconds);
        assertTrue(trainSeconds < 60, "training took " + trainSeconds + " s");
        assertTrue(bytesPerToken > 3.5, "compression " + bytesPerToken + " bytes/token");

        Path file = dir.resolve("tokenizer.json");
        t.save(file);
        BpeTokenizer back = BpeTokenizer.load(file);
        // our encoder after save/load and the Hugging Face tokenizers library (Rust, via DJL) on every held-out
        // document
        long hfMillis;
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(
                file, Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            long t2 = System.nanoTime();
            for (LmCorpus.Document d : corpus.heldOut()) {
                int[] ours = t.encode(d.text());
                assertArrayEquals(ours, back.encode(d.text()), d.id());
                assertArrayEquals(
                        Arrays.stream(ours).asLongStream().toArray(),
                        hf.encode(d.text(), false, false).getIds(),
                        "HF ids for " + d.id());
            }
            hfMillis = (System.nanoTime() - t2) / 1_000_000;
        }
        System.out.printf(
                "BPE vocab 4096: save/load and HF tokenizers give identical ids on all %d held-out documents (%d ms)%n",
                corpus.heldOut().size(), hfMillis);
    }
}
