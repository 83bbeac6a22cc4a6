package ai.coalora.cli;

import static ai.coalora.cli.CommandLineTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.cli.CommandLineTest.Outcome;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `pretrain` a tiny decoder, then `bench paper --model DIR --quick` on it: every method scored by perplexity, seen and unseen. */
class BenchPaperDecoderIT {

    @Test
    void quickDecoderBenchReportsPerplexityPerMethod(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny-lm");
        Outcome pretrained = run(
                "pretrain",
                "--out",
                model.toString(),
                "--vocab",
                "384",
                "--hidden",
                "32",
                "--layers",
                "2",
                "--heads",
                "4",
                "--kv-heads",
                "2",
                "--intermediate",
                "88",
                "--seq-len",
                "32",
                "--batch-size",
                "8",
                "--steps",
                "60",
                "--warmup",
                "6",
                "--lr",
                "1e-2",
                "--eval-sequences",
                "8",
                "--train-chars",
                "60000",
                "--minutes",
                "0");
        assertEquals(0, pretrained.exitCode(), pretrained.err());

        Outcome o = run("bench", "paper", "--model", model.toString(), "--quick", "--plots", dir.toString(), "--json");
        assertEquals(0, o.exitCode(), o.err());
        JsonNode task = o.json().get("tasks").get(0);
        assertEquals("sentiment", task.get("domain").asText());
        List<String> methods = new ArrayList<>();
        task.get("methods").forEach(m -> methods.add(m.get("method").asText()));
        assertEquals(List.of("per-configuration", "shared-lora", "coa-frozen", "coa-search"), methods);
        for (JsonNode m : task.get("methods")) {
            assertEquals(4, m.get("evaluations").size(), "2 seen + 2 unseen configurations");
            double seen = m.get("meanPerplexitySeen").asDouble(),
                    unseen = m.get("meanPerplexityUnseen").asDouble();
            assertTrue(seen > 1 && seen < 384 && unseen > 1 && unseen < 384, m + "");
        }
        assertTrue(task.get("fullPrecisionPerplexity").asDouble() > 1);
        assertTrue(Files.exists(dir.resolve("paper-decoder.json")));

        Outcome missing =
                run("bench", "paper", "--model", dir.resolve("nothing-here").toString(), "--quick");
        assertTrue(missing.exitCode() != 0, "a folder without a model is an error");
    }
}
