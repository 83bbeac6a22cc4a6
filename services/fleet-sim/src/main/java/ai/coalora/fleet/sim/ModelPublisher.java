package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.registry.RegistryClient;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Puts a trained bundle into the registry (files as blobs, then the version) and moves an alias to it. */
public final class ModelPublisher {
    public record Published(String modelVersion, List<FrontEntry> front) {}

    private ModelPublisher() {}

    public static Published registerAndPromote(
            RegistryClient registry, Path bundleDir, String alias, String actor, String reason) throws IOException {
        Published v = register(registry, bundleDir);
        registry.sendJson(
                "PUT",
                "api/aliases/" + alias,
                Map.of("modelVersion", v.modelVersion(), "actor", actor, "reason", reason));
        return v;
    }

    /** Uploads the bundle's files and registers them as a version (not promoted: a rollout can ship it). */
    public static Published register(RegistryClient registry, Path bundleDir) throws IOException {
        List<Map<String, String>> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(bundleDir)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                String sha = registry.putBlob(Files.readAllBytes(f));
                files.add(Map.of("name", f.getFileName().toString(), "sha256", sha));
            }
        }
        JsonNode version = registry.sendJson("POST", "api/versions", Map.of("files", files));
        String id = version.get("modelVersion").asText();
        List<FrontEntry> front =
                Payloads.JSON.convertValue(version.get("front"), new TypeReference<List<FrontEntry>>() {});
        return new Published(id, front);
    }

    /**
     * Another version of a bundle: the same tensors, a manifest whose training time is {@code createdAt}, so the file
     * list (and so the version id) differs — what the fleet sees of a retrain that happens to match its parent.
     */
    public static Path variant(Path bundleDir, Path dir, String createdAt) throws IOException {
        Files.createDirectories(dir);
        try (Stream<Path> s = Files.list(bundleDir)) {
            for (Path f : s.filter(Files::isRegularFile).toList())
                Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
        Path manifest = dir.resolve(ai.coalora.engine.bundle.ModelBundle.MANIFEST);
        com.fasterxml.jackson.databind.node.ObjectNode m =
                (com.fasterxml.jackson.databind.node.ObjectNode) Payloads.JSON.readTree(manifest.toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) m.get("training")).put("createdAt", createdAt);
        Files.write(manifest, Payloads.JSON.writeValueAsBytes(m));
        ai.coalora.engine.bundle.ModelBundle.read(dir); // still a valid bundle
        return dir;
    }
}
