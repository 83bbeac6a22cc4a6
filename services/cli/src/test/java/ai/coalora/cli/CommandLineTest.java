package ai.coalora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.fleet.security.FleetKeys;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: real model and data, exit codes, --json, clear errors. */
class CommandLineTest {

    record Outcome(int exitCode, String out, String err) {
        JsonNode json() throws Exception {
            return JsonOption.MAPPER.readTree(out);
        }
    }

    static Outcome run(String... args) {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            var cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            int code = cl.execute(args);
            return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(oldOut);
        }
    }

    @Test
    void verifyModelMatchesOnnxRuntimeOnHundredRealSentences() throws Exception {
        Outcome o = run("verify-model", "--sentences", "100", "--json");
        assertEquals(0, o.exitCode(), o.err());
        JsonNode j = o.json();
        assertEquals(100, j.get("sentences").asInt());
        assertTrue(j.get("maxAbsDiff").asDouble() <= 1e-4, "max abs diff " + j.get("maxAbsDiff"));
        assertTrue(j.get("pass").asBoolean());
    }

    @Test
    void agentsNeedTheSystemsAddresses() {
        Outcome o = run("agents", "--devices", "3");
        assertEquals(Main.BAD_INPUT, o.exitCode(), "missing --registry and --root-key");
        assertTrue(o.err().contains("--registry") && o.err().contains("--root-key"), o.err());
        // devices reach the fleet through the gateway only: there is no Kafka option any more
        assertTrue(!o.err().contains("--kafka"), o.err());
    }

    @Test
    void hashPasswordWritesAUsersLineThatVerifiesAndNeverThePassword() {
        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream("correct horse battery\n".getBytes(StandardCharsets.UTF_8)));
            Outcome o = run("hash-password", "ada", "operator");
            assertEquals(0, o.exitCode(), o.err());
            String line = o.out().strip();
            assertFalse(line.contains("correct horse"), line);
            ai.coalora.fleet.security.Users users = ai.coalora.fleet.security.Users.parse(List.of(line), "out");
            assertEquals(
                    ai.coalora.fleet.security.Role.OPERATOR,
                    users.byName().get("ada").role());
            assertTrue(ai.coalora.fleet.security.PasswordHash.verify(
                    "correct horse battery".toCharArray(),
                    users.byName().get("ada").passwordHash()));
            System.setIn(new ByteArrayInputStream("pw\n".getBytes(StandardCharsets.UTF_8)));
            assertEquals(Main.BAD_INPUT, run("hash-password", "ada", "operator").exitCode(), "too short");
            System.setIn(new ByteArrayInputStream("long enough pw\n".getBytes(StandardCharsets.UTF_8)));
            Outcome bad = run("hash-password", "ada", "root");
            assertEquals(Main.BAD_INPUT, bad.exitCode());
            assertTrue(bad.err().contains("unknown role 'root'"), bad.err());
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void keysInitWritesARootAndASigningKeyAndRotateReplacesOnlyTheSigningKey() throws Exception {
        Path dir = Files.createTempDirectory("coalora-keys-");
        Outcome init = run("keys", "init", dir.toString());
        assertEquals(0, init.exitCode(), init.err());
        for (String f : List.of(FleetKeys.ROOT, FleetKeys.ROOT_PUBLIC, FleetKeys.SIGNING)) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        String root = Files.readString(dir.resolve(FleetKeys.ROOT)),
                signing = Files.readString(dir.resolve(FleetKeys.SIGNING));
        assertEquals(Main.BAD_INPUT, run("keys", "init", dir.toString()).exitCode(), "a root is never overwritten");
        assertEquals(0, run("keys", "rotate", dir.toString(), "--days", "30").exitCode());
        assertEquals(root, Files.readString(dir.resolve(FleetKeys.ROOT)));
        assertNotEquals(signing, Files.readString(dir.resolve(FleetKeys.SIGNING)));
        Outcome bad = run("keys", "revoke", dir.toString());
        assertEquals(Main.BAD_INPUT, bad.exitCode());
        assertTrue(bad.err().contains("init or rotate"), bad.err());
    }

    @Test
    void everyCommandHasHelp() {
        for (String[] cmd : new String[][] {
            {"--help"},
            {"verify-model", "--help"},
            {"quantize", "--help"},
            {"finetune", "--help"},
            {"demo", "--help"},
            {"bench", "--help"},
            {"bench", "throughput", "--help"},
            {"bench", "paper", "--help"},
            {"bench", "fleet", "--help"},
            {"bench", "faults", "--help"},
            {"train", "--help"},
            {"eval", "--help"},
            {"adapter", "--help"},
            {"gguf", "--help"},
            {"demo-engine", "--help"},
            {"agents", "--help"},
            {"hash-password", "--help"},
            {"keys", "--help"},
            {"pretrain", "--help"}
        }) {
            Outcome o = run(cmd);
            assertEquals(0, o.exitCode(), String.join(" ", cmd));
            assertTrue(o.out().contains("Usage:"), String.join(" ", cmd) + " printed no usage");
        }
    }

    @Test
    void unknownOptionIsAnErrorWithASuggestion() {
        Outcome o = run("quantize", "--bugdet", "3");
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("'--bugdet'") && o.err().contains("Possible solutions: --budget"), o.err());
    }

    @Test
    void budgetsOutsideTheReachableRangeAndNaNAreRejected() {
        Outcome tooLow = run("quantize", "--budget", "1.5", "--calibration", "8");
        assertEquals(2, tooLow.exitCode());
        assertTrue(tooLow.err().startsWith("error:") && tooLow.err().contains("reachable"), tooLow.err());
        Outcome tooHigh = run("quantize", "--budget", "9", "--calibration", "8");
        assertEquals(2, tooHigh.exitCode(), tooHigh.err());
        Outcome nan = run("quantize", "--budget", "NaN");
        assertEquals(2, nan.exitCode());
        assertTrue(nan.err().contains("finite"), nan.err());
    }

    @Test
    void missingFilesAreReportedByName() {
        Outcome data = run("finetune", "--data", "/no/such/file.csv");
        assertEquals(2, data.exitCode());
        assertTrue(data.err().contains("file not found: /no/such/file.csv"), data.err());
        Outcome config = run("finetune", "--config", "/no/such/config.json");
        assertEquals(2, config.exitCode());
        assertTrue(config.err().contains("/no/such/config.json"), config.err());
    }

    @Test
    void badRowsInUserDataAreReportedWithFileAndLine(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("reviews.csv");
        Files.writeString(csv, "text,label\ngreat,pos\n,neg\nawful,neg\nmeh,\n");
        Outcome o = run("finetune", "--data", csv.toString(), "--budget", "4");
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("reviews.csv:3"), o.err());
        assertTrue(o.err().contains("reviews.csv:5"), o.err());
    }

    @Test
    void corruptConfigFileIsRejected(@TempDir Path dir) throws Exception {
        Path cfg = dir.resolve("config.json");
        Files.writeString(
                cfg, "{\"format\":\"coalora.quant-config/v1\",\"quantizer\":\"nf\",\"matrices\":[{\"name\":\"x\"");
        Outcome o = run("finetune", "--config", cfg.toString());
        assertEquals(2, o.exitCode());
        assertTrue(o.err().startsWith("error:"), o.err());
    }

    @Test
    void quantizeWritesAConfigEveryCommandAccepts(@TempDir Path dir) throws Exception {
        Path cfg = dir.resolve("q.json");
        Outcome o = run("quantize", "--budget", "3.0", "--json", "--out", cfg.toString());
        assertEquals(0, o.exitCode(), o.err());
        JsonNode j = o.json();
        double bits = j.get("averageBits").asDouble();
        assertTrue(bits <= 3.0 + 1e-12 && bits > 2.95, "average bits " + bits);
        assertTrue(j.get("optimalityGap").asDouble() < 0.01);
        assertEquals(36, j.get("config").get("matrices").size());
        assertEquals(bits, ai.coalora.engine.quant.ModelQuantConfig.read(cfg).averageBits(), 1e-12);
    }

    @Test
    void finetunesOnTheUsersOwnCsvWithAConfigFile(@TempDir Path dir) throws Exception {
        // a small CSV of real sentences with its own column names and a split column
        var task = ai.coalora.engine.data.Tasks.builtin("sentiment");
        StringBuilder csv = new StringBuilder("review,mood,part\n");
        String[] parts = {"train", "validation", "test"};
        int[] counts = {96, 32, 32};
        int k = 0;
        for (int p = 0; p < 3; p++) {
            for (int i = 0; i < counts[p]; i++, k++) {
                var e = task.train().get(k);
                csv.append('"')
                        .append(e.text().replace("\"", "\"\""))
                        .append("\",")
                        .append(e.label() == 1 ? "happy" : "sad")
                        .append(',')
                        .append(parts[p])
                        .append('\n');
            }
        }
        Path data = dir.resolve("mine.csv");
        Files.writeString(data, csv);
        Path cfg = dir.resolve("int4.json");
        try (var model = PretrainedModel.miniLm(64)) {
            ai.coalora.engine.quant.ModelQuantConfig.uniform(
                            ai.coalora.engine.model.QuantizedWeights.matrixSpecs(model.encoder()),
                            ai.coalora.engine.quant.QuantConfig.integerOnly(4),
                            ai.coalora.engine.quant.QuantizerKind.NF)
                    .write(cfg);
        }
        Outcome o = run(
                "finetune",
                "--data",
                data.toString(),
                "--text-column",
                "review",
                "--label-column",
                "mood",
                "--split-column",
                "part",
                "--config",
                cfg.toString(),
                "--epochs",
                "1",
                "--no-references",
                "--json");
        assertEquals(0, o.exitCode(), o.err());
        JsonNode j = o.json();
        assertEquals(96, j.get("examples").get("train").asInt());
        assertEquals(32, j.get("examples").get("test").asInt());
        assertEquals(4.0 + 8.0 / 64 + 16.0 / (64 * 256), j.get("averageBits").asDouble(), 1e-12);
        assertEquals(1, j.get("runs").size());
        double acc = j.get("runs").get(0).get("testAccuracy").asDouble();
        assertTrue(acc >= 0 && acc <= 1);
    }
}
