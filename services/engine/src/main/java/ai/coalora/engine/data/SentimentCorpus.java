package ai.coalora.engine.data;

import ai.coalora.common.Sha256;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The labelled review sentences shipped as test fixtures of the npm package {@code sentiment@5.0.2}:
 * {@code test/fixtures/{amazon,imdb,yelp}.json}, each a JSON array of {@code {"text": ..., "class": 0|1}}
 * (0 negative, 1 positive), 500 of each class per file.
 */
final class SentimentCorpus {
    static final String CACHE_DIR = "sentiment-5.0.2";
    static final List<String> LABELS = List.of("negative", "positive");
    private static final List<String> SOURCES = List.of("amazon", "imdb", "yelp"); // sorted: the deterministic order

    private SentimentCorpus() {}

    static TaskData load(Path packageDir) {
        ObjectMapper json = new ObjectMapper();
        Sha256 sha = new Sha256();
        List<Example> examples = new ArrayList<>();
        for (String source : SOURCES) {
            Path file = packageDir.resolve("test/fixtures/" + source + ".json");
            byte[] bytes = read(file);
            sha.update(bytes);
            JsonNode rows = tree(json, bytes, file);
            for (JsonNode row : rows) {
                // Each file ends with one unlabelled row, {"text": "", "class": null}: it is not an example, so it is
                // dropped.
                if (row.path("class").isNull()) continue;
                int label = row.path("class").asInt(-1);
                if (label != 0 && label != 1)
                    throw new IllegalStateException("unexpected class " + row.get("class") + " in " + file);
                examples.add(new Example(row.path("text").asText(), label));
            }
        }
        Splits.Split split = Splits.split(examples, Splits.DEFAULT_SEED);
        return new TaskData("sentiment", LABELS, split.train(), split.validation(), split.test(), sha.hex());
    }

    private static JsonNode tree(ObjectMapper json, byte[] bytes, Path file) {
        try {
            JsonNode node = json.readTree(bytes);
            if (!node.isArray())
                throw new IllegalStateException(file + " is not a JSON array; re-run scripts/fetch-data.sh");
            return node;
        } catch (IOException e) {
            throw new IllegalStateException("cannot parse " + file + "; re-run scripts/fetch-data.sh", e);
        }
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + "; re-run scripts/fetch-data.sh", e);
        }
    }
}
