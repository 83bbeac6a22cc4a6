package ai.coalora.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.bundle.DecoderBundleTraining;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.gguf.GgufDecoderExport;
import ai.coalora.engine.gguf.GgufLoraFile;
import ai.coalora.engine.gguf.GgufReader;
import ai.coalora.engine.gguf.GgufTensor;
import ai.coalora.engine.gguf.GgufType;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.gguf.GgufTypes;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.OnnxWeights;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.infra.TestDatabase;
import ai.coalora.fleet.infra.TestRegistry;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.planning.GgufPlanning;
import ai.coalora.fleet.planning.QualityMeasure;
import ai.coalora.fleet.security.FleetKeys;
import ai.coalora.fleet.security.PackageManifest;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A decoder version packaged for llama.cpp by the generator's handler, on a real PostgreSQL (no broker) and a
 * {@link TestRegistry} holding the version: a tiny decoder pretrained here (GGUF-friendly widths), a decoder bundle
 * trained on it (seconds), and the base model's files beside the bundle, as the registry keeps them. What it uploads is
 * read back as GGUF.
 */
class DecoderPackagesIT {
    private static final int SEQ = 32;

    @TempDir
    static Path dir;

    static TestDatabase db;
    static TestRegistry registry;
    static PretrainedModel encoder;
    static DecoderBundleManifest manifest;
    static HfCheckpoint base;
    static String version;
    static PublicKey root;
    static GenerationHandler handler;
    static VersionCache versions;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh");
        db = TestDatabase.start("generator", "classpath:db/messaging", "classpath:db/adapter-generator");
        registry = TestRegistry.start();
        long t0 = System.nanoTime();
        Path model = dir.resolve("tiny-lm"), bundle = dir.resolve("version");
        try (NDManager manager = NDManager.newBaseManager()) {
            // hidden 256, intermediate 768: the K-quants' 256-weight blocks divide every row
            Pretraining.run(
                    LmCorpus.load(),
                    new Pretraining.Settings(
                            384, 256, 2, 4, 2, 768, SEQ, 8, 20, 0, 1e-2f, 2, 0.0f, 1.0f, 11, 4, 20, 60_000),
                    model,
                    manager,
                    line -> {});
        }
        FineTuneSettings t = new FineTuneSettings(1, 8, 5e-3f, 0.0f, 1.0f, 3, new LoraSpec(4, 8));
        manifest = new DecoderBundleTraining(new CoaSettings(t, 2, true, 8), SEQ, 16, 4, 8, 3, 2, 2)
                .run(model, Tasks.builtin("sentiment"), bundle, Progress.NONE);
        // a decoder version's files: the bundle's and its base model's
        for (String f : List.of(HfCheckpoint.CONFIG, HfCheckpoint.SINGLE_FILE, Pretraining.TOKENIZER_FILE))
            Files.copy(model.resolve(f), bundle.resolve(f));
        base = HfCheckpoint.load(model);
        version = registry.register(bundle, null);
        FleetKeys.init(dir.resolve("keys"), Duration.ofDays(90));
        root = FleetKeys.readRootPublic(dir.resolve("keys").resolve(FleetKeys.ROOT_PUBLIC));
        encoder = PretrainedModel.miniLm(40);
        versions = new VersionCache(registry.client(), dir.resolve("versions"), encoder.encoder());
        handler = new GenerationHandler(
                db.dataSource(),
                versions,
                new AdapterPackager(
                        registry.client(),
                        OnnxWeights.read(MiniLmArtifact.onnxFile()),
                        BertConfig.MINILM_L6,
                        dir.resolve("scratch")),
                FleetKeys.readOnline(dir.resolve("keys").resolve(FleetKeys.SIGNING)),
                new SimpleMeterRegistry());
        System.out.printf(
                "tiny decoder, bundle of %d configurations, registration: %.1f s%n",
                manifest.front().size(), (System.nanoTime() - t0) / 1e9);
    }

    @AfterAll
    static void stop() {
        if (versions != null) versions.close();
        if (encoder != null) encoder.close();
        if (registry != null) registry.close();
        if (db != null) db.close();
    }

    @Test
    void aConfigurationIsPackagedForLlamaCppOncePerTypeMapping() throws Exception {
        ModelQuantConfig config = manifest.front().get(0).quantConfig();
        String a = device(), b = device(), c = device();
        long before = handler.generated();
        deliver(gguf(a, config, null), gguf(b, config, null));
        assertEquals(before + 1, handler.generated(), "two llama.cpp devices, one configuration: one package");
        AdapterReady ready = adapterReady(a);
        assertEquals(ready.packageSha256(), adapterReady(b).packageSha256());
        assertEquals(
                Set.of("gguf-model", "gguf-adapter"),
                ready.artifacts().stream().map(Artifact::role).collect(Collectors.toSet()));
        assertEquals(ready.packageSha256(), AdapterPackager.packageSha(ready.artifacts()));
        PackageManifest m = PackageManifest.verify(ready.manifest(), root, a, 0, Instant.now());
        m.checkFiles(ready.artifacts().stream()
                .map(f -> new PackageManifest.File(f.role(), f.name(), f.sha256(), f.bytes()))
                .toList());

        // model.gguf is the base decoder with the configuration's K-quant types; adapter.gguf one LoRA pair per matrix
        Path model = download(ready, "gguf-model"), adapter = download(ready, "gguf-adapter");
        assertEquals(base.config(), GgufDecoderExport.read(model).config());
        Set<GgufType> expected =
                new HashSet<>(GgufDecoderExport.tensorTypes(base.config(), config, GgufTypeMapping.K_QUANTS)
                        .values());
        assertEquals(
                expected,
                GgufReader.read(model).tensors().stream().map(GgufTensor::type).collect(Collectors.toSet()));
        assertEquals(
                config.matrices().size(),
                GgufDecoderExport.loraPairs(GgufLoraFile.read(adapter), base.config())
                        .size());

        // LEGACY types are another package of the same configuration; a third K-quant device reuses the first
        deliver(gguf(c, config, new GgufPlanning.GgufPlan("LEGACY", List.of("Q4_0", "Q8_0"), 5.0, 1)));
        assertEquals(before + 2, handler.generated());
        assertNotEquals(ready.packageSha256(), adapterReady(c).packageSha256());
        assertEquals(
                2,
                db.count(
                        "select count(*) from packages where model_version = ? and config_id = ?",
                        version,
                        config.configId()));
        deliver(gguf(device(), config, null));
        assertEquals(before + 2, handler.generated(), "the K-quant package exists");
    }

    @Test
    void aDecoderIsNotShippedPacked() throws Exception {
        ModelQuantConfig config = manifest.front().get(0).quantConfig();
        long before = handler.generated();
        CloudEvent packed = assignment(device(), config, "coalora-packed", null);
        RejectedEvent e = assertThrows(RejectedEvent.class, () -> deliver(packed));
        assertTrue(e.getMessage().contains("is a decoder: it runs on llama.cpp"), e.getMessage());
        assertEquals(before, handler.generated());
    }

    @Test
    void aMixedPlanIsExportedWithEachMatrixInTheCheapestDeclaredType() throws Exception {
        // a configuration with matrices at 2 bits and at 3 or 4: a runtime with Q2_K but no other K-quant runs the
        // 2-bit ones as Q2_K and the 3- and 4-bit ones as Q4_0
        ModelQuantConfig config = manifest.front().stream()
                .map(DecoderBundleManifest.FrontPoint::quantConfig)
                .filter(c -> bitsOf(c).contains(2)
                        && (bitsOf(c).contains(3) || bitsOf(c).contains(4)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no front configuration mixes 2 bits with 3 or 4"));
        List<String> declared = List.of("Q2_K", "Q4_0", "Q8_0");
        String a = device();
        long before = handler.generated();
        deliver(gguf(a, config, new GgufPlanning.GgufPlan("MIXED", declared, 3.0, 1)));
        assertEquals(before + 1, handler.generated());
        Path model = download(adapterReady(a), "gguf-model");
        Map<String, GgufType> expected =
                GgufDecoderExport.tensorTypes(base.config(), config, GgufTypes.cheapestOf(declared));
        List<GgufType> written = GgufReader.read(model).tensors().stream()
                .map(GgufTensor::type)
                .sorted()
                .toList();
        assertEquals(expected.values().stream().sorted().toList(), written, "every tensor in its planned type");
        assertTrue(written.contains(GgufType.Q2_K) && written.contains(GgufType.Q4_0), "both kinds: " + written);
        assertEquals(
                "MIXED" + declared,
                GgufReader.read(model)
                        .metadata()
                        .get(GgufDecoderExport.MAPPING_KEY)
                        .asString());
        // another declared set is another package; a set that lacks a matrix's types is dead-lettered with the reason
        deliver(gguf(
                device(), config, new GgufPlanning.GgufPlan("MIXED", List.of("Q2_K", "Q3_K", "Q4_0", "Q8_0"), 3.0, 1)));
        assertEquals(before + 2, handler.generated());
        CloudEvent lacking = gguf(device(), config, new GgufPlanning.GgufPlan("MIXED", List.of("Q8_0"), 8.5, 1));
        RejectedEvent e = assertThrows(RejectedEvent.class, () -> deliver(lacking));
        assertTrue(
                e.getMessage().contains("cannot hold configuration")
                        && e.getMessage().contains("Q2_K"),
                e.getMessage());
        assertEquals(before + 2, handler.generated());
    }

    static Set<Integer> bitsOf(ModelQuantConfig c) {
        return c.matrices().stream().map(m -> m.config().b()).collect(Collectors.toSet());
    }

    static String device() {
        return "llm-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static CloudEvent gguf(String device, ModelQuantConfig config, GgufPlanning.GgufPlan plan) {
        return assignment(device, config, GgufPlanning.FORMAT, plan);
    }

    /** A feasible assignment of the decoder version as the planner publishes it (schema-valid). */
    static CloudEvent assignment(String device, ModelQuantConfig config, String format, GgufPlanning.GgufPlan plan) {
        Assignment a = new Assignment(
                device,
                UUID.randomUUID().toString(),
                "caps-" + device,
                true,
                "test",
                version,
                "production",
                config.configId(),
                config.averageBits(),
                QualityMeasure.PERPLEXITY,
                manifest.front().get(0).validationPerplexity(),
                format,
                new Payloads.Footprint(1, 1, 0, 2),
                null,
                plan);
        JsonNode data = Payloads.toJson(a);
        assertEquals(List.of(), ServiceRuntime.schemas().validate(EventTypes.ASSIGNMENT, data));
        return CloudEvent.create("/coalora/planner", EventTypes.ASSIGNMENT, device, null, data);
    }

    static void deliver(CloudEvent... events) throws Exception {
        handler.prepare(List.of(events));
        db.inTransaction(tx -> {
            for (CloudEvent e : events) handler.apply(e, tx);
        });
    }

    static AdapterReady adapterReady(String device) throws Exception {
        String json = (String) db.value(
                "select convert_from(value, 'UTF8') from outbox where record_key = ? order by seq desc limit 1",
                device);
        AdapterReady r = Payloads.read(Payloads.JSON.readTree(json), AdapterReady.class);
        assertEquals(List.of(), ServiceRuntime.schemas().validate(EventTypes.ADAPTER_READY, Payloads.toJson(r)));
        return r;
    }

    static Path download(AdapterReady ready, String role) throws Exception {
        Artifact f = ready.artifacts().stream()
                .filter(x -> x.role().equals(role))
                .findFirst()
                .orElseThrow();
        Path out = dir.resolve(ready.packageSha256().substring(0, 12) + "-" + f.name());
        Files.write(out, registry.client().getBlob(f.sha256()));
        return out;
    }
}
