package ai.coalora.generator;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.AdapterEmission;
import ai.coalora.engine.bundle.DevicePackage;
import ai.coalora.engine.bundle.GgufDeployment;
import ai.coalora.engine.gguf.GgufTypes;
import ai.coalora.engine.io.PeftAdapter;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.registry.RegistryClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Makes everything a device downloads for one configuration of one version. For an encoder version, the packed layout
 * of the Java runtime: the folded LoRA in the PEFT layout with its sidecar, the task head, the configuration, and the
 * base model bit-packed for exactly that configuration. For a decoder version, what llama.cpp loads: the base model
 * quantized to the configuration's GGUF types ({@code model.gguf}) and the adapter folded for it as a GGUF LoRA
 * ({@code adapter.gguf}). Every file goes to the registry's content-addressed store; the package is named by the
 * sha256 of its file list.
 */
final class AdapterPackager {
    /** A stored package. */
    record Package(String packageSha256, double averageBits, List<Artifact> artifacts) {}

    private static final Map<String, String> ROLES = Map.of(
            PeftAdapter.CONFIG_FILE, "adapter-config",
            PeftAdapter.WEIGHTS_FILE, "adapter-weights",
            AdapterEmission.SIDECAR, "sidecar",
            AdapterEmission.HEAD, "head",
            AdapterEmission.CONFIG, "quant-config",
            DevicePackage.PACKED, "base-packed",
            DevicePackage.DENSE, "base-dense",
            GgufDeployment.MODEL, "gguf-model",
            GgufDeployment.ADAPTER, "gguf-adapter");

    private final RegistryClient registry;
    private final Map<String, OnnxWeights.Tensor> baseWeights;
    private final BertConfig model;
    private final Path scratch;
    private Artifact dense; // the same for every configuration: built and uploaded once

    AdapterPackager(
            RegistryClient registry, Map<String, OnnxWeights.Tensor> baseWeights, BertConfig model, Path scratch) {
        this.registry = registry;
        this.baseWeights = baseWeights;
        this.model = model;
        this.scratch = scratch;
    }

    /** The packed layout of an encoder version's configuration. */
    Package generate(VersionCache.Encoder version, ModelQuantConfig config) throws IOException {
        List<Artifact> artifacts = new ArrayList<>();
        Path dir = Files.createTempDirectory(Files.createDirectories(scratch), "adapter-");
        try {
            AdapterEmission.write(version.loaded(), version.instance(), config, dir, version.id());
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.sorted().toList())
                    add(artifacts, f.getFileName().toString(), Files.readAllBytes(f));
            }
        } finally {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
        add(artifacts, DevicePackage.PACKED, DevicePackage.packedBase(baseWeights, config));
        synchronized (this) {
            if (dense == null) {
                List<Artifact> one = new ArrayList<>();
                add(one, DevicePackage.DENSE, DevicePackage.denseBase(baseWeights, model));
                dense = one.get(0);
            }
        }
        artifacts.add(dense);
        artifacts.sort(Comparator.comparing(Artifact::role));
        return new Package(packageSha(artifacts), config.averageBits(), artifacts);
    }

    /** A decoder version's configuration for llama.cpp: model.gguf with {@code mapping}'s types, and adapter.gguf. */
    Package generate(VersionCache.Decoder version, ModelQuantConfig config, GgufTypes mapping) throws IOException {
        List<Artifact> artifacts = new ArrayList<>();
        Path dir = Files.createTempDirectory(Files.createDirectories(scratch), "gguf-");
        try {
            GgufDeployment.write(version.checkpoint(), version.tokenizer(), config, mapping, version.instance(), dir);
            for (String name : List.of(GgufDeployment.MODEL, GgufDeployment.ADAPTER))
                add(artifacts, name, Files.readAllBytes(dir.resolve(name)));
        } finally {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
        artifacts.sort(Comparator.comparing(Artifact::role));
        return new Package(packageSha(artifacts), config.averageBits(), artifacts);
    }

    private void add(List<Artifact> out, String name, byte[] bytes) throws IOException {
        String role = ROLES.get(name);
        if (role == null) throw new IllegalStateException("unexpected emitted file " + name);
        String sha = registry.putBlob(bytes);
        out.add(new Artifact(role, name, sha, bytes.length, registry.blobUrl(sha)));
    }

    /** The package's identity: sha256 over its sorted "role name sha256" lines. */
    static String packageSha(List<Artifact> artifacts) {
        StringBuilder lines = new StringBuilder();
        for (Artifact a : artifacts)
            lines.append(a.role())
                    .append(' ')
                    .append(a.name())
                    .append(' ')
                    .append(a.sha256())
                    .append('\n');
        return Sha256.of(lines.toString());
    }
}
