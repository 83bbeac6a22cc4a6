package ai.coalora.engine;

import java.nio.file.Path;

/** The one place that says where fetched data and extracted model files live (never in the repository). */
public final class CacheDir {
    private CacheDir() {}

    /** {@code -Dcoalora.cache}, else {@code $COALORA_CACHE}, else {@code ~/.cache/coalora}. */
    public static Path root() {
        String prop = System.getProperty("coalora.cache");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        String env = System.getenv("COALORA_CACHE");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "coalora");
    }

    public static Path data() {
        return root().resolve("data");
    }

    public static Path model() {
        return root().resolve("model");
    }
}
