package ai.coalora.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.gguf.GgufLoraFile.Pair;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA adapters as GGUF files, in llama.cpp's layout. */
class GgufLoraFileTest {
    @TempDir
    Path dir;

    static Pair pair(int out, int in, int rank, long seed) {
        return new Pair(
                out, in, rank, GgufTypeTest.gaussian(rank * in, seed), GgufTypeTest.gaussian(out * rank, seed + 1));
    }

    static GgufLoraFile sample() {
        Map<String, Pair> pairs = new LinkedHashMap<>();
        pairs.put("blk.0.attn_q.weight", pair(64, 64, 8, 1));
        pairs.put("blk.0.ffn_down.weight", pair(64, 172, 8, 3));
        pairs.put("blk.1.attn_v.weight", pair(16, 64, 4, 5)); // ranks may differ per tensor
        return new GgufLoraFile(
                "llama",
                16f,
                pairs,
                Map.of(
                        "general.name",
                        GgufValue.string("coalora b=3.25"),
                        "coalora.config_id",
                        GgufValue.string("abc123")));
    }

    @Test
    void f32RoundTripIsExactAndTheLayoutIsLlamaCpps() throws IOException {
        GgufLoraFile lora = sample();
        Path file = dir.resolve("adapter.gguf");
        lora.write(file, GgufType.F32);
        assertEquals(lora, GgufLoraFile.read(file));

        GgufFile raw = GgufReader.read(file);
        assertEquals("adapter", raw.get("general.type").asString());
        assertEquals("lora", raw.get("adapter.type").asString());
        assertEquals("llama", raw.get("general.architecture").asString());
        assertEquals(GgufValue.Kind.FLOAT32, raw.get("adapter.lora.alpha").kind());
        assertEquals(16f, raw.get("adapter.lora.alpha").asFloat());
        assertEquals("abc123", raw.get("coalora.config_id").asString());
        // lora_a: ggml dims [in, rank] (PyTorch rank x in); lora_b: [rank, out] (PyTorch out x rank)
        assertArrayEquals(
                new long[] {172, 8}, raw.tensor("blk.0.ffn_down.weight.lora_a").dims());
        assertArrayEquals(
                new long[] {8, 64}, raw.tensor("blk.0.ffn_down.weight.lora_b").dims());
        assertArrayEquals(
                new long[] {4, 16}, raw.tensor("blk.1.attn_v.weight.lora_b").dims());
        List<String> names = new ArrayList<>();
        for (GgufTensor t : raw.tensors()) {
            names.add(t.name());
            assertEquals(GgufType.F32, t.type());
        }
        assertEquals(6, names.size());
        // llama.cpp's check: the base tensor W (ne = [in, out]) needs a.ne[0] == in, b.ne[1] == out, a.ne[1] == b.ne[0]
        GgufTensor a = raw.tensor("blk.0.attn_q.weight.lora_a"), b = raw.tensor("blk.0.attn_q.weight.lora_b");
        assertEquals(a.dims()[1], b.dims()[0]);
        assertEquals(16f / 8, lora.scale("blk.0.attn_q.weight"));
        assertEquals(16f / 4, lora.scale("blk.1.attn_v.weight"));
    }

    @Test
    void f16StoresTheF16RoundedFactors() throws IOException {
        GgufLoraFile lora = sample();
        Path file = dir.resolve("adapter-f16.gguf");
        lora.write(file, GgufType.F16);
        GgufLoraFile back = GgufLoraFile.read(file);
        for (String name : lora.pairs().keySet()) {
            Pair p = lora.pairs().get(name), q = back.pairs().get(name);
            assertArrayEquals(GgufType.F16.dequantize(GgufType.F16.quantize(p.a())), q.a(), 0f, name);
            assertArrayEquals(GgufType.F16.dequantize(GgufType.F16.quantize(p.b())), q.b(), 0f, name);
            // the update the runtime applies stays within fp16 precision of ours
            float[] d = p.delta(lora.scale(name)), e = q.delta(back.scale(name));
            assertTrue(GgufTypeTest.relativeRms(d, e) < 1e-3, name + ": " + GgufTypeTest.relativeRms(d, e));
        }
        assertEquals(
                GgufType.F16,
                GgufReader.read(file).tensor("blk.0.attn_q.weight.lora_a").type());
        assertThrows(IllegalArgumentException.class, () -> lora.toGguf(GgufType.Q8_0));
    }

    @Test
    void deltaIsScaleTimesBA() {
        Pair p = new Pair(2, 3, 1, new float[] {1, 2, 3}, new float[] {10, -1});
        assertArrayEquals(new float[] {20, 40, 60, -2, -4, -6}, p.delta(2f));
    }

    @Test
    void malformedAdaptersAreRefused() {
        GgufFile good = sample().toGguf(GgufType.F32);
        assertEquals(sample(), GgufLoraFile.fromGguf(good));

        assertRefused(
                good.with(Map.of("general.type", GgufValue.string("model"))),
                "general.type is 'model', expected 'adapter'");
        assertRefused(
                good.with(Map.of("adapter.type", GgufValue.string("control_vector"))),
                "adapter.type is 'control_vector'");
        assertRefused(
                good.with(Map.of("adapter.lora.alpha", GgufValue.float64(16))),
                "adapter.lora.alpha must be a FLOAT32, is FLOAT64");
        Map<String, GgufValue> noArch = new LinkedHashMap<>(good.metadata());
        noArch.remove("general.architecture");
        assertRefused(new GgufFile(noArch, good.tensors()), "general.architecture must be a string, is missing");

        List<GgufTensor> missingB = new ArrayList<>(good.tensors());
        missingB.removeIf(t -> t.name().equals("blk.0.attn_q.weight.lora_b"));
        assertRefused(new GgufFile(good.metadata(), missingB), "pair for 'blk.0.attn_q.weight' is missing lora_b");

        List<GgufTensor> extra = new ArrayList<>(good.tensors());
        extra.add(GgufTensor.quantize("blk.0.attn_q.weight", GgufType.F32, new float[4], 2, 2));
        assertRefused(new GgufFile(good.metadata(), extra), "'blk.0.attn_q.weight' has unexpected suffix");

        List<GgufTensor> transposed = new ArrayList<>(good.tensors());
        transposed.replaceAll(t -> t.name().equals("blk.1.attn_v.weight.lora_a")
                ? GgufTensor.quantize(t.name(), GgufType.F32, t.dequantize(), 4, 64)
                : t); // [rank, in] instead of [in, rank]
        assertRefused(new GgufFile(good.metadata(), transposed), "disagree on the rank");

        assertThrows(IllegalArgumentException.class, () -> new GgufLoraFile("llama", 16f, Map.of(), Map.of()));
        assertThrows(
                IllegalArgumentException.class, () -> new GgufLoraFile("llama", Float.NaN, sample().pairs(), Map.of()));
        assertThrows(
                IllegalArgumentException.class,
                () -> new GgufLoraFile(
                        "llama", 1f, sample().pairs(), Map.of("adapter.type", GgufValue.string("lora"))));
        assertThrows(IllegalArgumentException.class, () -> new Pair(2, 3, 1, new float[2], new float[2]));
    }

    private static void assertRefused(GgufFile file, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GgufLoraFile.fromGguf(file));
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should mention '" + expected + "'");
    }
}
