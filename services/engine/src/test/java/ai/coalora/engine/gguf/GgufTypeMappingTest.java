package ai.coalora.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bit-width to GGUF type mapping, its fallbacks and the bits per weight it really costs. */
class GgufTypeMappingTest {
    @TempDir
    Path dir;

    private static ModelQuantConfig config(Object... specAndBits) {
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        for (int i = 0; i < specAndBits.length; i += 2) {
            entries.add(new ModelQuantConfig.Entry(
                    (MatrixSpec) specAndBits[i], QuantConfig.integerOnly((Integer) specAndBits[i + 1])));
        }
        return new ModelQuantConfig(QuantizerKind.NF, entries);
    }

    @Test
    void nominalTypesAndTheirBits() {
        assertEquals(
                List.of(GgufType.Q2_K, GgufType.Q3_K, GgufType.Q4_K, GgufType.Q8_0),
                QuantConfig.WEIGHT_BITS.stream()
                        .map(GgufTypeMapping.K_QUANTS::nominal)
                        .toList());
        assertEquals(
                List.of(GgufType.Q4_0, GgufType.Q4_0, GgufType.Q4_0, GgufType.Q8_0),
                QuantConfig.WEIGHT_BITS.stream()
                        .map(GgufTypeMapping.LEGACY::nominal)
                        .toList());
        assertEquals(
                List.of(2.625, 3.4375, 4.5, 8.5),
                QuantConfig.WEIGHT_BITS.stream()
                        .map(b -> GgufTypeMapping.K_QUANTS.nominal(b).bitsPerWeight())
                        .toList());
        assertThrows(IllegalArgumentException.class, () -> GgufTypeMapping.K_QUANTS.nominal(5));
    }

    @Test
    void rowsThatAreNotWholeBlocksFallBackWithoutLosingBits() {
        GgufTypeMapping m = GgufTypeMapping.K_QUANTS;
        // Llama-sized rows (4096, 11008 = 43 * 256) keep the K-quants
        assertEquals(GgufType.Q2_K, m.typeFor(2, 4096));
        assertEquals(GgufType.Q3_K, m.typeFor(3, 11008));
        // BERT-small's 384 (= 12 * 32, not a multiple of 256): Q4_0 for 2..4 bits, Q8_0 stays
        for (int b : List.of(2, 3, 4)) assertEquals(GgufType.Q4_0, m.typeFor(b, 384));
        assertEquals(GgufType.Q8_0, m.typeFor(8, 384));
        // rows that are not even multiples of 32: F16
        for (int b : QuantConfig.WEIGHT_BITS) assertEquals(GgufType.F16, m.typeFor(b, 100));
        assertEquals(GgufType.Q8_0, GgufTypeMapping.fallback(GgufType.Q6_K, 384)); // more than 4.5 bits: Q8_0
        assertEquals(GgufType.Q5_K, GgufTypeMapping.fallback(GgufType.Q5_K, 512));
        for (int b : QuantConfig.WEIGHT_BITS) {
            for (long row : List.of(32L, 96L, 100L, 256L, 384L, 1536L)) {
                GgufType t = m.typeFor(b, row);
                assertEquals(0, row % t.blockSize, b + " bits, row " + row);
                assertTrue(t.bitsPerWeight() >= m.nominal(b).bitsPerWeight(), b + " bits, row " + row + ": " + t);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> m.typeFor(4, 0));
    }

    @Test
    void eachMatrixTakesTheCheapestDeclaredTypeAndThePlansOwnTypesChooseItAgain() {
        MatrixSpec q = new MatrixSpec("blk.0.attn_q.weight", 4096, 4096);
        MatrixSpec down = new MatrixSpec("blk.0.ffn_down.weight", 4096, 11008);
        MatrixSpec qwen = new MatrixSpec("blk.0.attn_k.weight", 128, 896); // 896 = 28 * 32: no K-quant rows
        ModelQuantConfig c = config(q, 2, down, 3, qwen, 4);
        GgufTypes.Cheapest noQ3K = GgufTypes.cheapestOf(
                List.of("Q2_K", "Q4_K", "Q4_0", "Q8_0", "f16", "Q9_X")); // unknown names are ignored
        Map<String, GgufType> plan = noQ3K.plan(c);
        // 2 bits: Q2_K (2.625) beats Q4_0; 3 bits: no Q3_K, so Q4_0; 4 bits on 896-weight rows: both fall back to Q4_0
        assertEquals(List.of(GgufType.Q2_K, GgufType.Q4_0, GgufType.Q4_0), List.copyOf(plan.values()));
        assertEquals("MIXED", noQ3K.name());
        assertEquals("MIXED[F16, Q2_K, Q4_0, Q4_K, Q8_0]", noQ3K.key());
        // the plan's own types give the same plan (what the generator recomputes from an assignment)
        List<String> used =
                plan.values().stream().map(GgufType::name).distinct().toList();
        assertEquals(plan, GgufTypes.cheapestOf(used).plan(c));
        // a tie (Q4_K and Q4_0 both 4.5 bits) goes to the first mapping, K_QUANTS
        assertEquals(
                GgufType.Q4_K, GgufTypes.cheapestOf(List.of("Q4_K", "Q4_0")).typeFor(4, 4096));
        // every type declared: the K_QUANTS plan; only legacy ones: the LEGACY plan
        assertEquals(
                GgufTypeMapping.K_QUANTS.plan(c),
                GgufTypes.cheapestOf(List.of("Q2_K", "Q3_K", "Q4_K", "Q4_0", "Q8_0"))
                        .plan(c));
        assertEquals(
                GgufTypeMapping.LEGACY.plan(c),
                GgufTypes.cheapestOf(List.of("Q4_0", "Q8_0")).plan(c));
        assertEquals(
                noQ3K.bytes(c),
                GgufType.Q2_K.byteSize(q.numel())
                        + GgufType.Q4_0.byteSize(down.numel())
                        + GgufType.Q4_0.byteSize(qwen.numel()));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> GgufTypes.cheapestOf(List.of("Q8_0")).plan(c));
        assertTrue(e.getMessage().contains("[Q2_K, Q4_0]") && e.getMessage().contains("[Q8_0]"), e.getMessage());
    }

    @Test
    void bitsPerWeightOfAConfiguration() {
        MatrixSpec q = new MatrixSpec("blk.0.attn_q.weight", 4096, 4096);
        MatrixSpec down = new MatrixSpec("blk.0.ffn_down.weight", 4096, 11008);
        MatrixSpec small = new MatrixSpec("encoder.layer.0.attention.self.query.weight", 384, 384);
        ModelQuantConfig c = config(q, 2, down, 3, small, 4);
        Map<String, GgufType> plan = GgufTypeMapping.K_QUANTS.plan(c);
        assertEquals(GgufType.Q2_K, plan.get(q.name()));
        assertEquals(GgufType.Q3_K, plan.get(down.name()));
        assertEquals(GgufType.Q4_0, plan.get(small.name()));
        double expected = (q.numel() * 2.625 + down.numel() * 3.4375 + small.numel() * 4.5)
                / (q.numel() + down.numel() + small.numel());
        assertEquals(expected, GgufTypeMapping.K_QUANTS.bitsPerWeight(c), 1e-12);
        assertEquals(
                q.numel() / 256 * 84 + down.numel() / 256 * 110 + small.numel() / 32 * 18,
                GgufTypeMapping.K_QUANTS.bytes(c));
        assertEquals(
                8 * GgufTypeMapping.K_QUANTS.bytes(c),
                Math.round(GgufTypeMapping.K_QUANTS.bitsPerWeight(c) * c.totalNumel()));
        // the legacy types cost 4.5 bits for every b below 8
        assertEquals(4.5, GgufTypeMapping.LEGACY.bitsPerWeight(c), 0);
        // versus our own formula (integer-only: b + 0.126 bits)
        assertTrue(GgufTypeMapping.K_QUANTS.bitsPerWeight(c) > c.averageBits());
        ModelQuantConfig eight = config(q, 8, small, 8);
        assertEquals(8.5, GgufTypeMapping.K_QUANTS.bitsPerWeight(eight), 0);
    }

    @Test
    void aConfigurationWrittenAsGgufReadsBackAndItsLinearLayersMatchTheOriginal() throws IOException {
        // a miniature export: per-matrix types from the configuration, the rest F32
        MatrixSpec a = new MatrixSpec("blk.0.attn_q.weight", 64, 512),
                b = new MatrixSpec("blk.0.ffn_up.weight", 96, 256);
        MatrixSpec c = new MatrixSpec("blk.0.attn_v.weight", 32, 384);
        ModelQuantConfig config = config(a, 2, b, 4, c, 3);
        Map<String, float[]> weights = new LinkedHashMap<>();
        List<GgufTensor> tensors = new ArrayList<>();
        long seed = 20;
        for (ModelQuantConfig.Entry e : config.matrices()) {
            MatrixSpec s = e.matrix();
            float[] w = GgufTypeTest.gaussian(s.rows() * s.cols(), seed++);
            for (int i = 0; i < w.length; i++) w[i] *= 0.02f; // LLM-sized weights
            weights.put(s.name(), w);
            tensors.add(GgufTensor.matrix(
                    s.name(), GgufTypeMapping.K_QUANTS.typeFor(s, e.config()), w, s.rows(), s.cols()));
        }
        tensors.add(GgufTensor.quantize("blk.0.attn_norm.weight", GgufType.F32, new float[64], 64));
        Map<String, GgufValue> meta = new LinkedHashMap<>();
        meta.put("general.architecture", GgufValue.string("llama"));
        meta.put("coalora.quant_config", GgufValue.string(config.toJson()));
        Path file = dir.resolve("model.gguf");
        GgufWriter.write(file, new GgufFile(meta, tensors));

        GgufFile read = GgufReader.read(file);
        assertEquals(
                config,
                ModelQuantConfig.fromJson(read.get("coalora.quant_config").asString()));
        // tolerance: 1.5 x the documented Gaussian relative RMS bound of the matrix's type
        for (ModelQuantConfig.Entry e : config.matrices()) {
            MatrixSpec s = e.matrix();
            GgufTensor t = read.tensor(s.name());
            assertEquals(GgufTypeMapping.K_QUANTS.typeFor(s, e.config()), t.type());
            assertEquals(List.of((long) s.cols(), (long) s.rows()), List.of(t.dims()[0], t.dims()[1]));
            float[] x = GgufTypeTest.gaussian(s.cols(), seed++);
            float[] ref = GgufTypeTest.matVec(weights.get(s.name()), x, s.rows(), s.cols());
            float[] got = GgufTypeTest.matVec(t.dequantize(), x, s.rows(), s.cols());
            double err = GgufTypeTest.relativeRms(ref, got);
            assertTrue(
                    err <= 1.5 * GgufTypeTest.BOUND.get(t.type()),
                    s.name() + " as " + t.type() + ": output error " + err);
        }
        // rows of 512 and 256 keep Q2_K and Q4_K; the 384-long rows of the 3-bit matrix fall back to Q4_0
        assertEquals(
                List.of(GgufType.Q2_K, GgufType.Q4_K, GgufType.Q4_0),
                read.tensors().subList(0, 3).stream().map(GgufTensor::type).toList());
    }
}
