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

/** `bench paper --quick` end to end on the sentiment task: every method, intervals, seen vs unseen, plot. */
class BenchPaperQuickIT {

    @Test
    void quickBenchReportsEveryMethodWithIntervalsAndAPlot(@TempDir Path dir) throws Exception {
        Outcome o = run(
                "bench",
                "paper",
                "--quick",
                "--tasks",
                "sentiment",
                "--train-limit",
                "64",
                "--plots",
                dir.toString(),
                "--json");
        assertEquals(0, o.exitCode(), o.err());
        JsonNode task = o.json().get("tasks").get(0);
        assertEquals("sentiment", task.get("task").asText());
        List<String> methods = new ArrayList<>();
        task.get("methods").forEach(m -> methods.add(m.get("method").asText()));
        assertEquals(List.of("per-configuration", "shared-lora", "coa-frozen", "coa-random", "coa-search"), methods);
        for (JsonNode m : task.get("methods")) {
            String name = m.get("method").asText();
            double hv = m.get("hypervolume").asDouble();
            assertTrue(hv > 0 && hv < 1, name + " hypervolume " + hv);
            JsonNode acc = m.get("accuracyUnseen");
            assertTrue(acc.get("low").asDouble() <= acc.get("value").asDouble()
                    && acc.get("value").asDouble() <= acc.get("high").asDouble());
            assertEquals(6, m.get("configurations").size());
            assertEquals(3, m.get("unseenVerified").asInt(), name + ": an 'unseen' configuration was trained on");
            if (!name.equals("per-configuration")) assertTrue(m.get("gapUnseen").has("significant"));
            assertTrue(m.get("trainSeconds").asDouble() > 0);
        }
        JsonNode search = task.get("methods").get(4);
        assertEquals(1, search.get("searchRounds").size(), "2 epochs: the search runs once, between them");
        assertTrue(search.get("searchRounds").get(0).get("candidates").asInt() > 0, "the search proposed nothing");
        assertTrue(task.get("emission").get("medianMillis").asDouble() > 0);
        // the fleet study: every method serves every device, with intervals, and the decision rules are measured
        JsonNode study = task.get("fleetStudy");
        assertEquals(5, study.get("methods").size());
        for (JsonNode row : study.get("methods")) {
            JsonNode f = row.get("fleetLow");
            assertTrue(
                    f.get("low").asDouble() <= f.get("value").asDouble()
                            && f.get("value").asDouble() <= f.get("high").asDouble(),
                    row.toString());
        }
        assertTrue(study.get("verdicts").size() >= 4 * 3, "rules (a)-(d) for each configuration-aware method");
        for (JsonNode m : task.get("methods")) {
            assertEquals(5, m.get("fleet").size(), "one served configuration per device");
            boolean aware = List.of("coa-frozen", "coa-random", "coa-search")
                    .contains(m.get("method").asText());
            assertEquals(
                    aware,
                    !m.get("theta").isNull(),
                    m.get("method") + ": theta diagnostics exactly for configuration-aware methods");
            if (aware)
                assertTrue(
                        m.get("epochs").get(1).get("gradientNorms").get("theta").asDouble() > 0,
                        "theta received no gradient");
        }
        String svg = Files.readString(dir.resolve("paper-sentiment.svg"));
        assertTrue(svg.startsWith("<svg") || svg.startsWith("<?xml"), "not an SVG");
        assertTrue(svg.contains("CoA-LoRA (search) (unseen)"));
    }
}
