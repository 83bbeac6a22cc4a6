package ai.coalora.engine.data;

import ai.coalora.engine.CacheDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Entry point for task data: the built-in tasks (read from the data cache filled by
 * {@code scripts/fetch-data.sh}) and the user's own files.
 *
 * <p>Built-in tasks are shuffled with seed 42 after sorting by source and position in the source, then
 * split 70/10/20 (see {@link Splits}):
 * <ul>
 *   <li>{@code sentiment} (negative, positive): 3,000 sentences (1,000 each from Amazon, IMDb and Yelp
 *       reviews) &rarr; train 2,100, validation 300, test 600.</li>
 *   <li>{@code spam} (ham, spam): 6,046 SpamAssassin emails (4,150 ham, 1,896 spam) &rarr; train 4,232,
 *       validation 604, test 1,210.</li>
 * </ul>
 */
public final class Tasks {
    /** Names accepted by {@link #builtin(String)}. */
    public static final List<String> BUILTIN = List.of("sentiment", "spam");

    private Tasks() {}

    /**
     * Loads a built-in task from the data cache.
     *
     * @throws IllegalArgumentException for an unknown name
     * @throws IllegalStateException    when the data has not been fetched
     */
    public static TaskData builtin(String name) {
        return switch (name) {
            case "sentiment" -> SentimentCorpus.load(fetched(SentimentCorpus.CACHE_DIR));
            case "spam" -> SpamCorpus.load(fetched(SpamCorpus.CACHE_DIR));
            default ->
                throw new IllegalArgumentException(
                        "unknown built-in task '" + name + "'; valid tasks: " + String.join(", ", BUILTIN));
        };
    }

    /** Loads the user's labelled CSV or JSON Lines file; every bad row is reported in one {@link DataFormatException}. */
    public static TaskData fromFile(DataFileOptions opts) {
        return UserDataFile.load(opts);
    }

    /** The package directory inside the cache, checked to be completely fetched (the marker is written last). */
    private static Path fetched(String dir) {
        Path root = CacheDir.data().resolve(dir);
        if (!Files.isRegularFile(root.resolve(".fetched"))) {
            throw new IllegalStateException("data not found in " + root
                    + "; run scripts/fetch-data.sh (it fetches into $COALORA_CACHE/data, default ~/.cache/coalora/data;"
                    + " the cache root can also be set with -Dcoalora.cache)");
        }
        return root.resolve("package");
    }
}
