package ai.coalora.fleet.schema;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Where the tests find the repository's top-level schemas/ (surefire passes it; else relative to the module). */
final class SchemaFiles {
    private SchemaFiles() {}

    static Path dir() {
        String configured = System.getProperty("coalora.schemas.dir");
        Path dir = configured != null ? Paths.get(configured) : Paths.get("../../schemas");
        dir = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("schemas directory not found: " + dir);
        }
        return dir;
    }

    static Path recorded() {
        return dir().resolve("recorded");
    }
}
