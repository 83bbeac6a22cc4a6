package ai.coalora.engine.lm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTokenizerTest {
    static final String EOT = "<|endoftext|>";

    static final List<String> TRICKY = List.of(
            "",
            "a",
            "Hello, world! It's 2024 — café naïve résumé.",
            "emoji 🐳🐋 family 👨‍👩‍👧‍👦 flag 🇺🇸 and ☃",
            "中文字符，日本語のテキスト、한국어",
            "   leading spaces, trailing   \t\t",
            "line1\nline2\r\n\n\n  indented\n\ttab",
            "x" + EOT + "y" + EOT + EOT + " z",
            "<|endoftext",
            "mixed\u00a0nbsp\u2003em-space\u200bzero-width",
            "don't won't I'll we've they're she'd I'm",
            "1234567890 3.14159 -42");

    static final String SAMPLE = String.join(
            "\n",
            "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse,",
            "and nothing particular to interest me on shore, I thought I would sail about a little and see the",
            "watery part of the world. It is a way I have of driving off the spleen and regulating the circulation.",
            "Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in my soul;");

    static BpeTokenizer small() {
        return BpeTokenizer.train(List.of(SAMPLE, SAMPLE.toUpperCase(), String.join(" ", TRICKY)), 400, List.of(EOT));
    }

    @Test
    void roundTripsTrickyTextExactly() {
        BpeTokenizer bytesOnly = BpeTokenizer.train(List.of(), 257, List.of(EOT));
        BpeTokenizer trained = small();
        for (BpeTokenizer t : List.of(bytesOnly, trained)) {
            for (String s : TRICKY) {
                assertEquals(s, t.decode(t.encode(s)), "round trip of " + s);
            }
        }
        String s = "x" + EOT + "y";
        int[] ids = trained.encode(s);
        assertEquals(1, Arrays.stream(ids).filter(i -> i == 0).count(), "the special is one id");
        assertEquals(0, trained.id(EOT));
        assertEquals(bytesOnly.encode("🐳").length, 4, "no merges: one id per UTF-8 byte");
    }

    @Test
    void trainingIsDeterministic() {
        BpeTokenizer a = small(), b = small();
        assertEquals(a.merges(), b.merges());
        assertEquals(a.vocabSize(), b.vocabSize());
        assertArrayEquals(a.encode(SAMPLE), b.encode(SAMPLE));
        assertEquals(400, a.vocabSize());
    }

    @Test
    void mergesAreLearnedMostFrequentFirstWithDeterministicTies() {
        // chunks: "ab" + 3 x " ab" + 2 x " cd". (a,b)=4 first; then (Ġ,ab)=3; then (Ġ,c)=2 and (c,d)=2 tie:
        // the smaller (left id, right id) wins, Ġ (byte 32) < c (byte 99); nothing then occurs twice.
        BpeTokenizer t = BpeTokenizer.train(List.of("ab ab ab ab cd cd"), 1000, List.of(EOT));
        assertEquals(List.of("a b", "Ġ ab", "Ġ c", "Ġc d"), t.merges());
        assertEquals(1 + 256 + 4, t.vocabSize());
        assertEquals(257, t.id("ab"));
        assertArrayEquals(new int[] {t.id("ab"), t.id("Ġab"), t.id("Ġcd")}, t.encode("ab ab cd"));
        assertArrayEquals(new int[] {t.id("Ġc"), t.id("a")}, t.encode(" ca"));
    }

    @Test
    void saveLoadGivesIdenticalEncodingsAndHuggingFaceAgrees(@TempDir Path dir) throws Exception {
        BpeTokenizer t = small();
        Path file = dir.resolve("tokenizer.json");
        t.save(file);
        BpeTokenizer back = BpeTokenizer.load(file);
        assertEquals(t.merges(), back.merges());
        assertEquals(t.vocabSize(), back.vocabSize());
        for (int i = 0; i < t.vocabSize(); i++) assertEquals(t.token(i), back.token(i));
        for (String s : TRICKY) assertArrayEquals(t.encode(s), back.encode(s), s);
        assertArrayEquals(t.encode(SAMPLE), back.encode(SAMPLE));
        // the Hugging Face tokenizers library (Rust, via DJL) reads our file and encodes the same ids
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(
                file, Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            for (String s : TRICKY) {
                if (s.isEmpty()) continue;
                long[] hfIds = hf.encode(s, false, false).getIds();
                assertArrayEquals(Arrays.stream(t.encode(s)).asLongStream().toArray(), hfIds, "HF ids for " + s);
            }
            long[] hfIds = hf.encode(SAMPLE, false, false).getIds();
            assertArrayEquals(Arrays.stream(t.encode(SAMPLE)).asLongStream().toArray(), hfIds);
        }
        String json = Files.readString(file);
        assertTrue(json.contains("\"type\" : \"BPE\"") && json.contains("\"ByteLevel\""));
    }

    @Test
    void readsOtherLayoutsOfTheSameKind(@TempDir Path dir) throws Exception {
        // GPT-2's layout: bytes and merges first, the special last; and ignore_merges (a chunk in the
        // vocabulary is one token). Both checked against our own encodings and against HF tokenizers.
        BpeTokenizer t = small();
        Path ours = dir.resolve("ours.json");
        t.save(ours);
        ObjectMapper json = new ObjectMapper();
        for (boolean ignoreMerges : new boolean[] {false, true}) {
            ObjectNode root = (ObjectNode) json.readTree(ours.toFile());
            ObjectNode model = (ObjectNode) root.get("model");
            ObjectNode vocab = json.createObjectNode();
            int last = t.vocabSize() - 1;
            for (int i = 0; i < t.vocabSize(); i++) vocab.put(t.token(i), i == 0 ? last : i - 1);
            model.set("vocab", vocab);
            model.put("ignore_merges", ignoreMerges);
            ((ObjectNode) root.get("added_tokens").get(0)).put("id", last);
            Path moved = dir.resolve("moved-" + ignoreMerges + ".json");
            json.writeValue(moved.toFile(), root);

            BpeTokenizer back = BpeTokenizer.load(moved);
            assertEquals(last, back.id(EOT));
            try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(
                    moved, Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
                for (String s : TRICKY) {
                    int[] ids = back.encode(s);
                    assertEquals(s, back.decode(ids));
                    if (!ignoreMerges) {
                        int[] expected = Arrays.stream(t.encode(s))
                                .map(i -> i == 0 ? last : i - 1)
                                .toArray();
                        assertArrayEquals(expected, ids, s);
                    }
                    if (s.isEmpty()) continue;
                    assertArrayEquals(
                            Arrays.stream(ids).asLongStream().toArray(),
                            hf.encode(s, false, false).getIds(),
                            "HF ids (ignore_merges " + ignoreMerges + ") for " + s);
                    assertEquals(s, hf.decode(Arrays.stream(ids).asLongStream().toArray(), false), "HF decode of " + s);
                }
            }
        }
    }

    @Test
    void rejectsTooSmallVocabularyAndNonBpeFiles(@TempDir Path dir) throws Exception {
        assertThrows(IllegalArgumentException.class, () -> BpeTokenizer.train(List.of("x"), 100, List.of(EOT)));
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BpeTokenizer.load(f));
        assertTrue(e.getMessage().contains("BPE"), e.getMessage());
    }
}
