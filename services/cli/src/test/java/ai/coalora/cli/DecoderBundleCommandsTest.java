package ai.coalora.cli;

import static ai.coalora.cli.CommandLineTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.coalora.cli.CommandLineTest.Outcome;
import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.GgufDeployment;
import ai.coalora.engine.data.LmCorpus;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.gguf.GgufDecoderExport;
import ai.coalora.engine.gguf.GgufLoraFile;
import ai.coalora.engine.gguf.GgufReader;
import ai.coalora.engine.gguf.GgufType;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.gguf.LlamaTensorNames;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pretrain (engine, tiny) -> train --model -> gguf, as a user runs them, and the errors a user can make. */
class DecoderBundleCommandsTest {
    @TempDir
    static Path dir;

    static Path model, bundle;

    @BeforeAll
    static void trainATinyDecoderBundle() throws Exception {
        assumeTrue(LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh");
        model = dir.resolve("tiny-lm");
        try (NDManager manager = NDManager.newBaseManager()) {
            Pretraining.run(
                    LmCorpus.load(),
                    new Pretraining.Settings(
                            384, 32, 2, 4, 2, 88, 32, 8, 80, 0, 1e-2f, 6, 0.0f, 1.0f, 11, 8, 20, 60_000),
                    model,
                    manager,
                    line -> {});
        }
        bundle = dir.resolve("lm-bundle");
        long t0 = System.nanoTime();
        Outcome o = run(
                "train",
                "--model",
                model.toString(),
                "--task",
                "sentiment",
                "--out",
                bundle.toString(),
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--rank",
                "4",
                "--alpha",
                "8",
                "--seq-len",
                "32",
                "--windows",
                "24",
                "--evaluation-windows",
                "4",
                "--validation-windows",
                "8",
                "--initial-grid",
                "3",
                "--segments",
                "2",
                "--candidates",
                "2",
                "--json");
        assertEquals(0, o.exitCode(), o.err());
        System.out.printf("train --model: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        JsonNode j = o.json();
        assertEquals(24, j.get("trainWindows").asInt());
        assertTrue(j.get("front").size() >= 2, "front of " + j.get("front").size());
    }

    @Test
    void exportsTheBaseAndTheFoldedAdapterForABudget() throws Exception {
        Path out = dir.resolve("gguf-bundle");
        Outcome o = run("gguf", "--bundle", bundle.toString(), "--budget", "8", "--out", out.toString(), "--json");
        assertEquals(0, o.exitCode(), o.err());
        JsonNode j = o.json();
        System.out.println("gguf --bundle: " + j);
        var manifest = DecoderBundle.read(bundle).manifest();
        assertEquals(manifest.bestWithin(8).averageBits(), j.get("averageBits").asDouble(), 1e-12);
        assertEquals(
                Files.size(out.resolve(GgufDeployment.MODEL)),
                j.get("modelBytes").asLong());
        assertTrue(j.get("foldMillis").asDouble() >= 0);

        HfCheckpoint checkpoint = HfCheckpoint.load(model);
        ModelQuantConfig config = manifest.bestWithin(8).quantConfig();
        Map<String, GgufType> expected =
                GgufDecoderExport.tensorTypes(checkpoint.config(), config, GgufTypeMapping.K_QUANTS);
        try (GgufReader reader = GgufReader.open(out.resolve(GgufDeployment.MODEL))) {
            assertEquals(expected.size(), reader.tensorInfos().size());
            Map<String, GgufType> types = reader.tensorInfos().stream()
                    .collect(Collectors.toMap(GgufReader.TensorInfo::name, GgufReader.TensorInfo::type));
            expected.forEach((hf, type) -> assertEquals(type, types.get(LlamaTensorNames.toGguf(hf)), hf));
            assertEquals(
                    config.configId(),
                    reader.metadata().get(GgufDecoderExport.CONFIG_ID_KEY).asString());

            GgufLoraFile lora = GgufLoraFile.read(out.resolve(GgufDeployment.ADAPTER));
            assertEquals(14, lora.pairs().size(), "7 matrices x 2 blocks");
            assertTrue(
                    types.keySet().containsAll(lora.pairs().keySet()),
                    "adapter names " + lora.pairs().keySet());
            assertEquals(manifest.alpha(), lora.alpha());
        }
        assertEquals(
                2,
                GgufDecoderExport.read(out.resolve(GgufDeployment.MODEL))
                        .config()
                        .numLayers());

        // any configuration file instead of a budget
        Path q = dir.resolve("q.json");
        manifest.front().get(0).quantConfig().write(q);
        Outcome byFile = run(
                "gguf",
                "--bundle",
                bundle.toString(),
                "--config",
                q.toString(),
                "--mapping",
                "legacy",
                "--out",
                dir.resolve("gguf-config").toString());
        assertEquals(0, byFile.exitCode(), byFile.err());
        assertTrue(byFile.out().contains("adapter folded in"), byFile.out());
    }

    @Test
    void exportsABaseModelAloneFromItsFolder() throws Exception {
        Path out = dir.resolve("gguf-base");
        Outcome o = run(
                "gguf",
                "--model",
                model.toString(),
                "--budget",
                "3.5",
                "--mapping",
                "legacy",
                "--out",
                out.toString(),
                "--json");
        assertEquals(0, o.exitCode(), o.err());
        JsonNode j = o.json();
        assertTrue(j.get("averageBits").asDouble() <= 3.5 + 1e-12, j.toString());
        assertFalse(j.has("adapter"));
        assertFalse(Files.exists(out.resolve(GgufDeployment.ADAPTER)));
        assertEquals("LEGACY", j.get("mapping").asText());
    }

    @Test
    void errorsAreOneLineWithExitCode2() throws Exception {
        Outcome tooLow = run(
                "gguf",
                "--bundle",
                bundle.toString(),
                "--budget",
                "2.0",
                "--out",
                dir.resolve("x").toString());
        assertEquals(Main.BAD_INPUT, tooLow.exitCode());
        assertTrue(tooLow.err().contains("no configuration of the bundle's front fits 2.000 bits"), tooLow.err());

        Outcome missing = run(
                "gguf",
                "--bundle",
                dir.resolve("no-bundle").toString(),
                "--budget",
                "4",
                "--out",
                dir.resolve("x").toString());
        assertEquals(Main.BAD_INPUT, missing.exitCode());
        assertTrue(missing.err().contains("file not found"), missing.err());

        Outcome neither = run("gguf", "--budget", "4", "--out", dir.resolve("x").toString());
        assertEquals(Main.BAD_INPUT, neither.exitCode());
        assertTrue(neither.err().contains("--bundle") && neither.err().contains("--model"), neither.err());

        // a bundle applied to another model: a copy whose weights changed
        Path other = dir.resolve("other-lm");
        Files.createDirectories(other);
        for (String f : new String[] {HfCheckpoint.CONFIG, HfCheckpoint.SINGLE_FILE, Pretraining.TOKENIZER_FILE}) {
            Files.copy(model.resolve(f), other.resolve(f));
        }
        byte[] weights = Files.readAllBytes(other.resolve(HfCheckpoint.SINGLE_FILE));
        weights[weights.length - 1] ^= 1;
        Files.write(other.resolve(HfCheckpoint.SINGLE_FILE), weights);
        Outcome wrong = run(
                "gguf",
                "--bundle",
                bundle.toString(),
                "--model",
                other.toString(),
                "--budget",
                "8",
                "--out",
                dir.resolve("x").toString());
        assertEquals(Main.BAD_INPUT, wrong.exitCode());
        assertTrue(wrong.err().contains("is another model (its weights differ)"), wrong.err());

        Outcome encoderOption = run(
                "train",
                "--model",
                model.toString(),
                "--max-length",
                "32",
                "--out",
                dir.resolve("x").toString());
        assertEquals(Main.BAD_INPUT, encoderOption.exitCode());
        assertTrue(encoderOption.err().contains("--seq-len"), encoderOption.err());
        assertFalse(Files.exists(dir.resolve("x")));
    }
}
