package ai.coalora.engine.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte-level BPE, GPT-2 style, our own implementation (training, encoding, decoding), stored as a
 * Hugging Face {@code tokenizer.json} ({@code model.type = "BPE"}, ByteLevel pre-tokenizer and decoder).
 *
 * <p>Text is first split on the special tokens (each becomes its own id), then pre-tokenized with the
 * GPT-2 regex (the one the HF ByteLevel pre-tokenizer uses, {@code use_regex = true}, no prefix space);
 * each chunk's UTF-8 bytes are mapped to printable characters (GPT-2's {@code bytes_to_unicode}), and the
 * merges are applied lowest rank first. Every byte is in the base vocabulary, so any text round-trips
 * exactly. Ids of a trained tokenizer: specials first ({@code 0..s-1}), then the 256 byte symbols in byte order, then one id per
 * merge in merge order (a merge whose result already exists reuses that id).
 *
 * <p>Training counts pre-tokenized chunks once, keeps pair counts for the distinct chunks with the set
 * of chunks each pair occurs in, and after each merge updates only the chunks that contained the merged
 * pair (a max-heap with lazy invalidation picks the next pair). Ties go to the pair with the smaller
 * (left id, right id), so training is deterministic.
 */
public final class BpeTokenizer {
    /** GPT-2's pre-tokenizer pattern (HF {@code ByteLevel} with {@code use_regex}), Unicode classes. */
    static final Pattern PRE_TOKENIZE = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_TO_BYTE = new HashMap<>();

    static {
        // GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
        }
    }

    private final List<String> specials;
    private final List<String> idToToken;
    private final Map<String, Integer> tokenToId;
    /** Merges in rank order as (left id, right id) → result id. */
    private final List<int[]> merges;

    private final Map<Long, int[]> mergeByPair; // pair → {rank, result id}
    private final Pattern specialSplit;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    /** HF {@code ignore_merges}: a chunk that is itself in the vocabulary is one token (false for ours). */
    private final boolean ignoreMerges;

    private final Map<String, Integer> specialIds = new HashMap<>();
    private final Set<Integer> specialIdSet = new HashSet<>();

    private BpeTokenizer(List<String> specials, List<String> idToToken, List<int[]> merges, boolean ignoreMerges) {
        this.specials = List.copyOf(specials);
        this.ignoreMerges = ignoreMerges;
        this.idToToken = List.copyOf(idToToken);
        this.tokenToId = new HashMap<>();
        for (int i = 0; i < idToToken.size(); i++) {
            if (tokenToId.put(idToToken.get(i), i) != null) {
                throw new IllegalArgumentException("duplicate token '" + idToToken.get(i) + "'");
            }
        }
        this.merges = List.copyOf(merges);
        this.mergeByPair = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) {
            int[] m = merges.get(r);
            mergeByPair.putIfAbsent(key(m[0], m[1]), new int[] {r, m[2]});
        }
        for (String sp : specials) {
            Integer id = tokenToId.get(sp);
            if (id == null) throw new IllegalArgumentException("special token '" + sp + "' has no id");
            specialIds.put(sp, id);
            specialIdSet.add(id);
        }
        if (specials.isEmpty()) {
            specialSplit = null;
        } else {
            List<String> sorted = new ArrayList<>(specials);
            sorted.sort((a, b) -> b.length() - a.length()); // longest first
            specialSplit = Pattern.compile(
                    String.join("|", sorted.stream().map(Pattern::quote).toList()));
        }
    }

    // ---------------------------------------------------------------- training

    /**
     * Learns merges until the vocabulary (specials + 256 bytes + merges) has {@code vocabSize} tokens or
     * no pair occurs twice. Specials in the texts are not learned from: the texts are split on them.
     */
    public static BpeTokenizer train(Collection<String> texts, int vocabSize, List<String> specials) {
        int base = specials.size() + 256;
        if (vocabSize < base) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " is below specials + 256 bytes = " + base);
        }
        List<String> idToToken = new ArrayList<>(specials);
        for (int b = 0; b < 256; b++) idToToken.add(String.valueOf(BYTE_TO_CHAR[b]));
        BpeTokenizer bytesOnly = new BpeTokenizer(specials, idToToken, List.of(), false);

        // 1. distinct pre-tokenized chunks with their counts, in first-seen order (deterministic)
        Map<String, long[]> chunkCounts = new LinkedHashMap<>();
        for (String text : texts) {
            for (String piece : bytesOnly.splitSpecials(text)) {
                if (bytesOnly.specialId(piece) >= 0) continue;
                for (String chunk : preTokenize(piece)) chunkCounts.computeIfAbsent(chunk, k -> new long[1])[0]++;
            }
        }
        int n = chunkCounts.size();
        int[][] words = new int[n][];
        long[] freq = new long[n];
        int w = 0;
        for (Map.Entry<String, long[]> e : chunkCounts.entrySet()) {
            byte[] bytes = e.getKey().getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) ids[i] = specials.size() + (bytes[i] & 0xFF);
            words[w] = ids;
            freq[w++] = e.getValue()[0];
        }

        // 2. pair counts and where each pair occurs
        Map<Long, long[]> pairCount = new HashMap<>();
        Map<Long, Set<Integer>> where = new HashMap<>();
        for (int i = 0; i < n; i++) addPairs(words[i], freq[i], i, pairCount, where, null);
        PriorityQueue<long[]> heap = new PriorityQueue<>(BpeTokenizer::compareEntries);
        pairCount.forEach((k, c) -> heap.add(new long[] {c[0], k}));

        // 3. merge the most frequent pair, update the affected words only
        Map<String, Integer> tokenToId = new HashMap<>();
        for (int i = 0; i < idToToken.size(); i++) tokenToId.put(idToToken.get(i), i);
        List<int[]> merges = new ArrayList<>();
        Set<Long> changed = new HashSet<>();
        while (idToToken.size() < vocabSize && !heap.isEmpty()) {
            long[] top = heap.poll();
            long[] current = pairCount.get(top[1]);
            if (current == null || current[0] != top[0]) continue; // stale heap entry
            if (top[0] < 2) break;
            long pair = top[1];
            int a = (int) (pair >>> 32), b = (int) pair;
            String merged = idToToken.get(a) + idToToken.get(b);
            Integer existing = tokenToId.get(merged);
            int id;
            if (existing != null) {
                id = existing;
            } else {
                id = idToToken.size();
                idToToken.add(merged);
                tokenToId.put(merged, id);
            }
            merges.add(new int[] {a, b, id});
            changed.clear();
            Set<Integer> affected = where.remove(pair);
            for (int i : affected) {
                int[] word = words[i];
                if (!contains(word, a, b)) continue;
                removePairs(word, freq[i], pairCount, changed);
                words[i] = mergeAll(word, a, b, id);
                addPairs(words[i], freq[i], i, pairCount, where, changed);
            }
            pairCount.remove(pair);
            changed.remove(pair);
            for (long k : changed) {
                long[] c = pairCount.get(k);
                if (c != null) heap.add(new long[] {c[0], k});
            }
        }
        return new BpeTokenizer(specials, idToToken, merges, false);
    }

    private static int compareEntries(long[] x, long[] y) {
        if (x[0] != y[0]) return Long.compare(y[0], x[0]); // higher count first
        return Long.compare(x[1], y[1]); // then smaller (left, right)
    }

    private static boolean contains(int[] word, int a, int b) {
        for (int j = 0; j + 1 < word.length; j++) if (word[j] == a && word[j + 1] == b) return true;
        return false;
    }

    private static void addPairs(
            int[] word,
            long f,
            int index,
            Map<Long, long[]> pairCount,
            Map<Long, Set<Integer>> where,
            Set<Long> changed) {
        for (int j = 0; j + 1 < word.length; j++) {
            long k = key(word[j], word[j + 1]);
            pairCount.computeIfAbsent(k, x -> new long[1])[0] += f;
            where.computeIfAbsent(k, x -> new HashSet<>()).add(index);
            if (changed != null) changed.add(k);
        }
    }

    private static void removePairs(int[] word, long f, Map<Long, long[]> pairCount, Set<Long> changed) {
        for (int j = 0; j + 1 < word.length; j++) {
            long k = key(word[j], word[j + 1]);
            long[] c = pairCount.get(k);
            c[0] -= f;
            if (c[0] == 0) pairCount.remove(k);
            changed.add(k);
        }
    }

    /** Left to right, non-overlapping. */
    private static int[] mergeAll(int[] word, int a, int b, int id) {
        int[] out = new int[word.length];
        int m = 0;
        for (int j = 0; j < word.length; j++) {
            if (j + 1 < word.length && word[j] == a && word[j + 1] == b) {
                out[m++] = id;
                j++;
            } else {
                out[m++] = word[j];
            }
        }
        return Arrays.copyOf(out, m);
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    // ---------------------------------------------------------------- encode / decode

    public int[] encode(String text) {
        IntList out = new IntList();
        for (String piece : splitSpecials(text)) {
            int sid = specialId(piece);
            if (sid >= 0) {
                out.add(sid);
                continue;
            }
            for (String chunk : preTokenize(piece)) out.addAll(cache.computeIfAbsent(chunk, this::encodeChunk));
        }
        return out.toArray();
    }

    /** Exact inverse of {@link #encode} for any text. */
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 0 || id >= idToToken.size())
                throw new IllegalArgumentException("token id " + id + " out of range");
            String token = idToToken.get(id);
            if (specialIdSet.contains(id)) {
                bytes.writeBytes(token.getBytes(StandardCharsets.UTF_8));
                continue;
            }
            for (int i = 0; i < token.length(); i++) {
                Integer b = CHAR_TO_BYTE.get(token.charAt(i));
                if (b == null) throw new IllegalStateException("token '" + token + "' is not byte-level");
                bytes.write(b);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private int[] encodeChunk(String chunk) {
        if (ignoreMerges) {
            StringBuilder whole = new StringBuilder();
            for (byte b : chunk.getBytes(StandardCharsets.UTF_8)) whole.append(BYTE_TO_CHAR[b & 0xFF]);
            Integer id = tokenToId.get(whole.toString());
            if (id != null) return new int[] {id};
        }
        byte[] bytes = chunk.getBytes(StandardCharsets.UTF_8);
        int[] word = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) word[i] = tokenToId.get(String.valueOf(BYTE_TO_CHAR[bytes[i] & 0xFF]));
        int len = word.length;
        while (len > 1) {
            int bestRank = Integer.MAX_VALUE, bestPos = -1, bestId = -1;
            for (int j = 0; j + 1 < len; j++) {
                int[] m = mergeByPair.get(key(word[j], word[j + 1]));
                if (m != null && m[0] < bestRank) {
                    bestRank = m[0];
                    bestPos = j;
                    bestId = m[1];
                }
            }
            if (bestPos < 0) break;
            // merge the leftmost occurrence of the lowest-rank pair (as HF's BPE does)
            word[bestPos] = bestId;
            System.arraycopy(word, bestPos + 2, word, bestPos + 1, len - bestPos - 2);
            len--;
        }
        return Arrays.copyOf(word, len);
    }

    /** The text cut into special tokens and the stretches between them (empty stretches dropped). */
    List<String> splitSpecials(String text) {
        if (specialSplit == null) return text.isEmpty() ? List.of() : List.of(text);
        List<String> out = new ArrayList<>();
        Matcher m = specialSplit.matcher(text);
        int at = 0;
        while (m.find()) {
            if (m.start() > at) out.add(text.substring(at, m.start()));
            out.add(m.group());
            at = m.end();
        }
        if (at < text.length()) out.add(text.substring(at));
        return out;
    }

    private int specialId(String piece) {
        return specialIds.getOrDefault(piece, -1);
    }

    /** The GPT-2 regex chunks; they always concatenate back to the input. */
    static List<String> preTokenize(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = PRE_TOKENIZE.matcher(text);
        int at = 0;
        while (m.find()) {
            if (m.start() > at) out.add(text.substring(at, m.start())); // not expected; kept for exactness
            out.add(m.group());
            at = m.end();
        }
        if (at < text.length()) out.add(text.substring(at));
        return out;
    }

    // ---------------------------------------------------------------- accessors

    public int vocabSize() {
        return idToToken.size();
    }

    public List<String> specials() {
        return specials;
    }

    /** The id of a special token, or of any vocabulary token. */
    public int id(String token) {
        Integer id = tokenToId.get(token);
        if (id == null) throw new IllegalArgumentException("no token '" + token + "'");
        return id;
    }

    public String token(int id) {
        return idToToken.get(id);
    }

    /** Merges in rank order, as HF writes them: "left right" in byte-level characters. */
    public List<String> merges() {
        List<String> out = new ArrayList<>(merges.size());
        for (int[] m : merges) out.add(idToToken.get(m[0]) + " " + idToToken.get(m[1]));
        return out;
    }

    // ---------------------------------------------------------------- tokenizer.json

    /** Writes a Hugging Face {@code tokenizer.json}. */
    public void save(Path file) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specials.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", specialIds.get(specials.get(i)));
            t.put("content", specials.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "ByteLevel");
        post.put("add_prefix_space", false);
        post.put("trim_offsets", false);
        post.put("use_regex", true);
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel");
        dec.put("add_prefix_space", true);
        dec.put("trim_offsets", true);
        dec.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < idToToken.size(); i++) vocab.put(idToToken.get(i), i);
        ArrayNode mergeArray = model.putArray("merges");
        for (String m : merges()) mergeArray.add(m);
        try {
            if (file.getParent() != null) Files.createDirectories(file.getParent());
            json.writeValue(file.toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /**
     * Reads a byte-level BPE {@code tokenizer.json} (ours or one of the same kind: model BPE without
     * unknown token or subword affixes, ByteLevel pre-tokenizer with the GPT-2 regex and no prefix space).
     * Merges may be "left right" strings or [left, right] pairs; {@code ignore_merges} is honoured. Added
     * tokens become the specials, at whatever ids the file gives them.
     */
    public static BpeTokenizer load(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        JsonNode model = root.path("model");
        if (!"BPE".equals(model.path("type").asText())) {
            throw new IllegalArgumentException(
                    file + ": model.type is '" + model.path("type").asText() + "', expected BPE");
        }
        if (!model.path("continuing_subword_prefix").isNull()
                        && !model.path("continuing_subword_prefix").isMissingNode()
                || !model.path("end_of_word_suffix").isNull()
                        && !model.path("end_of_word_suffix").isMissingNode()) {
            throw new IllegalArgumentException(file + ": subword prefix/suffix is not supported (byte-level BPE only)");
        }
        JsonNode pre = root.path("pre_tokenizer");
        if (!"ByteLevel".equals(pre.path("type").asText())
                || pre.path("add_prefix_space").asBoolean(false)
                || !pre.path("use_regex").asBoolean(true)) {
            throw new IllegalArgumentException(
                    file + ": expected a ByteLevel pre_tokenizer with use_regex and no prefix space");
        }
        Map<String, Integer> vocab = new HashMap<>();
        model.path("vocab")
                .fields()
                .forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        List<String> specials = new ArrayList<>();
        for (JsonNode t : root.path("added_tokens")) {
            vocab.put(t.path("content").asText(), t.path("id").asInt());
            specials.add(t.path("content").asText());
        }
        String[] byId = new String[vocab.size()];
        vocab.forEach((tok, id) -> {
            if (id < 0 || id >= byId.length || byId[id] != null) {
                throw new IllegalArgumentException(
                        file + ": token ids must be 0.." + (byId.length - 1) + " without gaps or repeats");
            }
            byId[id] = tok;
        });
        for (int b = 0; b < 256; b++) {
            if (!vocab.containsKey(String.valueOf(BYTE_TO_CHAR[b]))) {
                throw new IllegalArgumentException(file + ": byte-level vocabulary lacks byte " + b);
            }
        }
        List<int[]> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            String left, right;
            if (m.isArray()) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                String s = m.asText();
                int sp = s.indexOf(' ');
                if (sp < 0) throw new IllegalArgumentException(file + ": bad merge '" + s + "'");
                left = s.substring(0, sp);
                right = s.substring(sp + 1);
            }
            Integer a = vocab.get(left), b = vocab.get(right), r = vocab.get(left + right);
            if (a == null || b == null || r == null) {
                throw new IllegalArgumentException(
                        file + ": merge '" + left + " " + right + "' uses tokens not in the vocabulary");
            }
            merges.add(new int[] {a, b, r});
        }
        return new BpeTokenizer(
                specials,
                Arrays.asList(byId),
                merges,
                model.path("ignore_merges").asBoolean(false));
    }

    // ---------------------------------------------------------------- small int list

    private static final class IntList {
        private int[] a = new int[64];
        private int n;

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        void addAll(int[] vs) {
            if (n + vs.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, n + vs.length));
            System.arraycopy(vs, 0, a, n, vs.length);
            n += vs.length;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
