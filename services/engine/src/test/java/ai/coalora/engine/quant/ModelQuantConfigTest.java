package ai.coalora.engine.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelQuantConfigTest {
    static final List<MatrixSpec> SPECS = List.of(
            new MatrixSpec("encoder.layer.0.attention.self.query.weight", 384, 384),
            new MatrixSpec("encoder.layer.0.intermediate.dense.weight", 1536, 384),
            new MatrixSpec("encoder.layer.0.output.dense.weight", 384, 1536));

    static ModelQuantConfig mixed() {
        return new ModelQuantConfig(
                QuantizerKind.NF,
                List.of(
                        new ModelQuantConfig.Entry(SPECS.get(0), new QuantConfig(2, 8, ScaleType.FP16, 64, 256)),
                        new ModelQuantConfig.Entry(SPECS.get(1), new QuantConfig(4, 4, ScaleType.BF16, 32, 16)),
                        new ModelQuantConfig.Entry(SPECS.get(2), new QuantConfig(8, 2, ScaleType.FP32, 16, 64))));
    }

    @Test
    void averageBitsIsNumelWeighted() {
        ModelQuantConfig m = mixed();
        double expected = (147456 * m.matrices().get(0).config().bitsPerWeight()
                        + 589824 * m.matrices().get(1).config().bitsPerWeight()
                        + 589824 * m.matrices().get(2).config().bitsPerWeight())
                / (147456 + 589824 + 589824);
        assertEquals(expected, m.averageBits(), 1e-12);
        QuantConfig c = QuantConfig.integerOnly(3);
        assertEquals(
                c.bitsPerWeight(),
                ModelQuantConfig.uniform(SPECS, c, QuantizerKind.INT).averageBits(),
                0.0);
    }

    @Test
    void jsonRoundTrips(@TempDir Path dir) throws Exception {
        ModelQuantConfig m = mixed();
        String json = m.toJson();
        assertTrue(json.contains("\"format\" : \"coalora.quant-config/v1\""), json);
        assertTrue(json.contains("\"b1\" : \"fp16\""), json);
        assertEquals(m, ModelQuantConfig.fromJson(json));
        Path p = dir.resolve("sub/config.json");
        m.write(p);
        assertEquals(m, ModelQuantConfig.read(p));
    }

    @Test
    void acceptsRoundedAverageBitsAndNoAverageBits() {
        String base = "{\"format\":\"coalora.quant-config/v1\",\"quantizer\":\"int\",%s\"matrices\":["
                + "{\"name\":\"a\",\"rows\":4,\"cols\":8,\"b\":3,\"b0\":8,\"b1\":\"fp16\",\"B0\":64,\"B1\":256}]}";
        assertEquals(
                3.1260,
                ModelQuantConfig.fromJson(String.format(base, "\"averageBits\":3.1260,"))
                        .averageBits(),
                1e-4);
        assertEquals(
                QuantizerKind.INT,
                ModelQuantConfig.fromJson(String.format(base, "")).quantizer());
    }

    @Test
    void rejectsInvalidDocumentsNamingTheField() {
        String good = mixed().toJson();
        assertError(good.replace("quant-config/v1", "quant-config/v9"), "format");
        assertError(good.replace("\"nf\"", "\"fp4\""), "quantizer");
        assertError(good.replaceFirst("\"b\" : 2", "\"b\" : 5"), "b must be one of");
        assertError(good.replaceFirst("\"b1\" : \"fp16\"", "\"b1\" : \"fp8\""), "fp8");
        assertError(good.replaceFirst("\"B0\" : 64", "\"B0\" : 48"), "B0");
        assertError(good.replaceFirst("\"rows\" : 384", "\"rows\" : 0"), "shape");
        assertError(good.replaceFirst("\"rows\" : 384", "\"rows\" : 3.5"), "rows");
        assertError(good.replace("intermediate.dense", "attention.self.query"), "duplicate");
        assertError(good.replaceFirst("\"averageBits\" : [0-9.]+", "\"averageBits\" : 4.0"), "averageBits");
        assertError(good.replaceFirst("\"b0\" : 8", "\"b_0\" : 8"), "b_0");
        assertError(good.replaceFirst("\"matrices\" : \\[", "\"matrices\" : [ 1, "), "matrices[0]");
        assertError("{\"format\":\"coalora.quant-config/v1\",\"quantizer\":\"nf\",\"matrices\":[]}", "matrices");
        assertError("not json", "invalid JSON");
    }

    private static void assertError(String json, String fragment) {
        var e = assertThrows(IllegalArgumentException.class, () -> ModelQuantConfig.fromJson(json), json);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}
