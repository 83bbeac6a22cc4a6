package ai.coalora.cli;

import static ai.coalora.cli.CommandLineTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.cli.CommandLineTest.Outcome;
import ai.coalora.engine.bundle.AdapterEmission;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.io.PeftAdapter;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.quant.ModelQuantConfig;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train -> bundle -> eval / adapter, as a user runs them, on a small CSV of real sentences. */
class BundleCommandsIT {
    @TempDir
    static Path dir;

    static Path data, bundle;
    static JsonNode trained;

    @BeforeAll
    static void trainASmallBundle() throws Exception {
        var task = ai.coalora.engine.data.Tasks.builtin("sentiment");
        StringBuilder csv = new StringBuilder("text,label,split\n");
        // the first 256 training sentences in order: the same calibration as `quantize --task sentiment` (cached
        // tables)
        for (int i = 0; i < 256; i++) row(csv, task.train().get(i), "train");
        for (int i = 0; i < 64; i++) row(csv, task.validation().get(i), "validation");
        for (int i = 0; i < 64; i++) row(csv, task.test().get(i), "test");
        data = dir.resolve("reviews.csv");
        Files.writeString(data, csv);
        bundle = dir.resolve("bundle");
        Outcome o = run(
                "train",
                "--data",
                data.toString(),
                "--split-column",
                "split",
                "--labels",
                "negative,positive",
                "--epochs",
                "2",
                "--initial-grid",
                "6",
                "--segments",
                "6",
                "--candidates",
                "3",
                "--out",
                bundle.toString(),
                "--json");
        assertEquals(0, o.exitCode(), o.err());
        trained = o.json();
        assertTrue(
                trained.get("front").size() >= 2,
                "front of " + trained.get("front").size());
    }

    private static void row(StringBuilder csv, ai.coalora.engine.data.Example e, String split) {
        csv.append('"')
                .append(e.text().replace("\"", "\"\""))
                .append("\",")
                .append(e.label() == 1 ? "positive" : "negative")
                .append(',')
                .append(split)
                .append('\n');
    }

    @Test
    void trainReportsItsWallTimeByPhase() throws Exception {
        JsonNode phases = trained.get("phaseSeconds");
        List<String> names = new ArrayList<>();
        phases.fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("loading", "encoding", "calibration", "training", "search", "front", "writing"), names);
        double sum = 0;
        for (String n : names) {
            assertTrue(phases.get(n).asDouble() >= 0, n);
            sum += phases.get(n).asDouble();
        }
        assertEquals(trained.get("wallSeconds").asDouble(), sum, 0.01);
        assertTrue(phases.get("front").asDouble() > 0 && phases.get("search").asDouble() > 0, phases.toString());
        // the bundle records the same phases, all but writing (it comes after the manifest is made)
        var recorded = ModelBundle.read(bundle).manifest().training().phaseSeconds();
        assertEquals(names.subList(0, names.size() - 1), List.copyOf(recorded.keySet()));
        assertEquals(phases.get("front").asDouble(), recorded.get("front"), 1e-9);
    }

    @Test
    void bundleIsSelfDescribingAndLoadsBackBitExactly() throws Exception {
        ModelBundle.Loaded loaded = ModelBundle.read(bundle);
        var m = loaded.manifest();
        assertEquals("coalora.bundle/v1", m.format());
        assertEquals(java.util.List.of("negative", "positive"), m.task().labels());
        assertEquals(64, m.task().dataSha256().length());
        assertEquals(
                ai.coalora.engine.model.MiniLmArtifact.ONNX_SHA256,
                m.baseModel().onnxSha256());
        assertEquals("search", m.training().policy());
        for (var p : m.front()) assertEquals(p.averageBits(), p.quantConfig().averageBits(), 1e-12);
        try (var model = PretrainedModel.miniLm(m.maxLength());
                ModelBundle.Instance instance =
                        loaded.instantiate(model.encoder(), model.encoder().manager())) {
            // what the engine holds after loading serialises to exactly the bytes on disk
            assertEquals(loaded.tensors(), ModelBundle.tensorsOf(instance.model(), instance.head()));
            assertTrue(instance.model().configAware());
        }
    }

    @Test
    void evalServesAnyConfigurationAndTheFront() throws Exception {
        Path cfg = dir.resolve("q35.json");
        assertEquals(
                0, run("quantize", "--budget", "3.5", "--out", cfg.toString()).exitCode());
        Outcome any = run(
                "eval", "--bundle", bundle.toString(), "--config", cfg.toString(), "--data", data.toString(), "--json");
        assertEquals(0, any.exitCode(), any.err());
        JsonNode j = any.json();
        assertEquals(384, j.get("examples").asInt());
        assertEquals(
                ModelQuantConfig.read(cfg).averageBits(), j.get("averageBits").asDouble(), 1e-12);
        assertTrue(j.get("accuracy").asDouble() > 0.6, "accuracy " + j.get("accuracy"));

        Outcome front = run("eval", "--bundle", bundle.toString(), "--budget", "8", "--task", "sentiment", "--json");
        assertEquals(0, front.exitCode(), front.err());
        assertTrue(front.json().get("averageBits").asDouble() <= 8);
        assertEquals(600, front.json().get("examples").asInt());
    }

    @Test
    void adapterIsAnOrdinaryPeftLoraWithItsConfiguration() throws Exception {
        Path out = dir.resolve("adapter");
        Outcome o = run("adapter", "--bundle", bundle.toString(), "--budget", "5", "--out", out.toString(), "--json");
        assertEquals(0, o.exitCode(), o.err());
        PeftAdapter peft = PeftAdapter.read(out);
        assertEquals(36, peft.pairs().size());
        assertEquals(ModelBundle.read(bundle).manifest().rank(), peft.rank());
        ModelQuantConfig config = ModelQuantConfig.read(out.resolve(AdapterEmission.CONFIG));
        assertTrue(config.averageBits() <= 5);
        JsonNode sidecar =
                JsonOption.MAPPER.readTree(out.resolve(AdapterEmission.SIDECAR).toFile());
        assertEquals(config.averageBits(), sidecar.get("averageBits").asDouble(), 1e-12);
        assertEquals(
                ModelBundle.read(bundle).manifest().tensorsSha256(),
                sidecar.get("modelVersion").asText());
        assertTrue(Files.isRegularFile(out.resolve(AdapterEmission.HEAD)));
    }

    @Test
    void badBundlesAndBadRequestsAreClearErrors() throws Exception {
        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(bundle.resolve(ModelBundle.MANIFEST), broken.resolve(ModelBundle.MANIFEST));
        byte[] tensors = Files.readAllBytes(bundle.resolve(ModelBundle.TENSORS));
        tensors[tensors.length - 3] ^= 0x40; // one flipped bit in a weight
        Files.write(broken.resolve(ModelBundle.TENSORS), tensors);
        Outcome corrupt = run("eval", "--bundle", broken.toString(), "--budget", "8", "--task", "sentiment");
        assertEquals(Main.BAD_INPUT, corrupt.exitCode());
        assertTrue(corrupt.err().contains("checksum"), corrupt.err());

        Outcome notABundle = run(
                "adapter",
                "--bundle",
                dir.toString(),
                "--budget",
                "4",
                "--out",
                dir.resolve("x").toString());
        assertEquals(Main.BAD_INPUT, notABundle.exitCode());
        assertTrue(notABundle.err().contains("not a model bundle"), notABundle.err());

        Outcome tooSmall = run(
                "adapter",
                "--bundle",
                bundle.toString(),
                "--budget",
                "1.5",
                "--out",
                dir.resolve("y").toString());
        assertEquals(Main.BAD_INPUT, tooSmall.exitCode());
        assertTrue(tooSmall.err().contains("no configuration of the bundle's front fits"), tooSmall.err());

        Path otherLabels = dir.resolve("other.csv");
        Files.writeString(otherLabels, "text,label\nfine,ok\nbad,bad\n");
        Outcome labels = run("eval", "--bundle", bundle.toString(), "--budget", "8", "--data", otherLabels.toString());
        assertEquals(Main.BAD_INPUT, labels.exitCode());

        Outcome neither = run("eval", "--bundle", bundle.toString(), "--task", "sentiment");
        assertEquals(Main.BAD_INPUT, neither.exitCode(), "no --config and no --budget");
    }
}
