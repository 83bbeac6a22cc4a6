package ai.coalora.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.io.PeftAdapter.LoraPair;
import ai.coalora.engine.io.Safetensors.Tensor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftAdapterTest {
    private static final List<String> TARGETS =
            List.of("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense");
    private static final String QUERY = "encoder.layer.3.attention.self.query.weight";
    private static final String FFN_OUT = "encoder.layer.0.output.dense.weight";

    @TempDir
    Path dir;

    private static LoraPair randomPair(Random random, int rank, int out, int in) {
        float[] a = new float[rank * in], b = new float[out * rank];
        for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) random.nextGaussian();
        return new LoraPair(out, in, a, b);
    }

    private static PeftAdapter sample(int rank) {
        Random random = new Random(3);
        return new PeftAdapter(
                "sentence-transformers/all-MiniLM-L6-v2",
                rank,
                16,
                TARGETS,
                "SEQ_CLS",
                Map.of(QUERY, randomPair(random, rank, 6, 5), FFN_OUT, randomPair(random, rank, 5, 7)),
                Map.of("quant_config", "{\"bits\": 3.25}"));
    }

    @Test
    void roundTripsThroughThePeftLayout() throws IOException {
        PeftAdapter adapter = sample(2);
        adapter.write(dir);
        assertEquals(adapter, PeftAdapter.read(dir));

        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(
                    List.of(PeftAdapter.CONFIG_FILE, PeftAdapter.WEIGHTS_FILE),
                    files.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temp files left behind");
        }
        JsonNode config =
                new ObjectMapper().readTree(dir.resolve(PeftAdapter.CONFIG_FILE).toFile());
        assertEquals("LORA", config.get("peft_type").textValue());
        assertEquals(2, config.get("r").intValue());
        assertTrue(config.get("lora_alpha").isIntegralNumber(), "alpha 16 written as PEFT writes it");
        assertEquals(TARGETS.size(), config.get("target_modules").size());
        assertEquals("none", config.get("bias").textValue());
        assertFalse(config.get("fan_in_fan_out").booleanValue());
        assertTrue(config.get("inference_mode").booleanValue());

        Safetensors.Contents weights = Safetensors.read(dir.resolve(PeftAdapter.WEIGHTS_FILE));
        assertEquals(
                List.of(
                        "base_model.model.encoder.layer.0.output.dense.lora_A.weight",
                        "base_model.model.encoder.layer.0.output.dense.lora_B.weight",
                        "base_model.model.encoder.layer.3.attention.self.query.lora_A.weight",
                        "base_model.model.encoder.layer.3.attention.self.query.lora_B.weight"),
                List.copyOf(weights.tensors().keySet()));
        assertArrayEquals(
                new long[] {2, 5},
                weights.tensors()
                        .get("base_model.model.encoder.layer.3.attention.self.query.lora_A.weight")
                        .shape());
        assertArrayEquals(
                new long[] {6, 2},
                weights.tensors()
                        .get("base_model.model.encoder.layer.3.attention.self.query.lora_B.weight")
                        .shape());
        assertEquals("pt", weights.metadata().get("format"));
    }

    @Test
    void overwritingReplacesTheAdapter() throws IOException {
        sample(2).write(dir);
        PeftAdapter bigger = sample(4);
        bigger.write(dir);
        assertEquals(bigger, PeftAdapter.read(dir));
    }

    @Test
    void aDirectoryWithoutConfigIsNotAnAdapter() throws IOException {
        sample(2).write(dir);
        Files.delete(dir.resolve(PeftAdapter.CONFIG_FILE)); // as a reader would see it mid-write
        IOException e = assertThrows(IOException.class, () -> PeftAdapter.read(dir));
        assertTrue(e.getMessage().contains(PeftAdapter.CONFIG_FILE), e.getMessage());
    }

    @Test
    void missingBIsRejected() throws IOException {
        sample(2).write(dir);
        rewriteWeights(
                tensors -> tensors.remove("base_model.model.encoder.layer.3.attention.self.query.lora_B.weight"));
        assertRejected("has no matching 'base_model.model.encoder.layer.3.attention.self.query.lora_B.weight'");
    }

    @Test
    void missingAIsRejected() throws IOException {
        sample(2).write(dir);
        rewriteWeights(tensors -> tensors.remove("base_model.model.encoder.layer.0.output.dense.lora_A.weight"));
        assertRejected("has no matching 'base_model.model.encoder.layer.0.output.dense.lora_A.weight'");
    }

    @Test
    void rankMismatchIsRejected() throws IOException {
        sample(2).write(dir);
        // B with 3 columns against A's (and the config's) rank 2
        rewriteWeights(tensors -> tensors.put(
                "base_model.model.encoder.layer.3.attention.self.query.lora_B.weight",
                Tensor.ofFloats(new float[18], 6, 3)));
        assertRejected("inconsistent with rank r = 2");

        sample(4).write(dir);
        String config = Files.readString(dir.resolve(PeftAdapter.CONFIG_FILE)).replace("\"r\" : 4", "\"r\" : 2");
        Files.writeString(dir.resolve(PeftAdapter.CONFIG_FILE), config);
        assertRejected("inconsistent with rank r = 2");
    }

    @Test
    void unexpectedTensorsAndConfigsAreRejected() throws IOException {
        sample(2).write(dir);
        rewriteWeights(
                tensors -> tensors.put("base_model.model.classifier.weight", Tensor.ofFloats(new float[2], 1, 2)));
        assertRejected("not a LoRA A or B factor");

        sample(2).write(dir);
        Path config = dir.resolve(PeftAdapter.CONFIG_FILE);
        Files.writeString(config, Files.readString(config).replace("\"LORA\"", "\"IA3\""));
        assertRejected("peft_type");
    }

    @Test
    void constructorRejectsInconsistentAdapters() {
        Random random = new Random(1);
        assertThrows(
                IllegalArgumentException.class,
                () -> new PeftAdapter("m", 2, 16, TARGETS, null, Map.of(QUERY, randomPair(random, 3, 6, 5)), Map.of()));
        assertThrows(
                IllegalArgumentException.class,
                () -> new PeftAdapter(
                        "m", 2, 16, List.of("key"), null, Map.of(QUERY, randomPair(random, 2, 6, 5)), Map.of()),
                "query is not a target");
        assertThrows(
                IllegalArgumentException.class,
                () -> new PeftAdapter(
                        "m",
                        2,
                        16,
                        TARGETS,
                        null,
                        Map.of("encoder.layer.3.attention.self.query", randomPair(random, 2, 6, 5)),
                        Map.of()),
                "not a .weight name");
        assertThrows(
                IllegalArgumentException.class, () -> new PeftAdapter("m", 2, 0, TARGETS, null, Map.of(), Map.of()));
    }

    private void rewriteWeights(Consumer<Map<String, Tensor>> edit) throws IOException {
        Path file = dir.resolve(PeftAdapter.WEIGHTS_FILE);
        Safetensors.Contents contents = Safetensors.read(file);
        Map<String, Tensor> tensors = new TreeMap<>(contents.tensors());
        edit.accept(tensors);
        Safetensors.write(file, tensors, contents.metadata());
    }

    private void assertRejected(String expectedInMessage) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeftAdapter.read(dir));
        assertTrue(e.getMessage().contains(expectedInMessage), "message: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(dir.toString()), "names the adapter: " + e.getMessage());
    }
}
