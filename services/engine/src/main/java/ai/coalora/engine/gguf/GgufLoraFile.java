package ai.coalora.engine.gguf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A LoRA adapter as a GGUF file, laid out the way llama.cpp's {@code convert_lora_to_gguf.py} writes one and
 * {@code llama_adapter_lora_init} reads it:
 *
 * <ul>
 *   <li>metadata {@code general.architecture} (must equal the base model's, e.g. "llama"), {@code general.type =
 *       "adapter"}, {@code adapter.type = "lora"}, {@code adapter.lora.alpha} (FLOAT32);
 *   <li>per adapted base tensor {@code <name>} (the base model's GGUF tensor name, e.g. {@code blk.0.attn_q.weight}):
 *       {@code <name>.lora_a} with dims {@code [in, rank]} (A, rank x in row-major) and {@code <name>.lora_b} with
 *       dims {@code [rank, out]} (B, out x rank row-major), in F32 or F16.
 * </ul>
 *
 * llama.cpp adds {@code (alpha / rank) * B A x} to the base output, rank being each pair's own. A folded adapter
 * whose scale {@code s} is not {@code alpha / rank} can be stored by multiplying B by {@code s * rank / alpha}.
 *
 * @param extraMetadata further keys (e.g. {@code general.name}, our configuration id), written after the required ones
 */
public record GgufLoraFile(
        String architecture, float alpha, Map<String, Pair> pairs, Map<String, GgufValue> extraMetadata) {
    public static final String TYPE_KEY = "general.type", ARCHITECTURE_KEY = "general.architecture";
    public static final String ADAPTER_TYPE_KEY = "adapter.type", ALPHA_KEY = "adapter.lora.alpha";
    public static final String A_SUFFIX = ".lora_a", B_SUFFIX = ".lora_b";

    /** The factors of one adapted weight W (out x in): A is rank x in, B is out x rank, both row-major. */
    public record Pair(int out, int in, int rank, float[] a, float[] b) {
        public Pair {
            if (out < 1 || in < 1 || rank < 1)
                throw new IllegalArgumentException(
                        "LoRA pair needs positive out, in, rank; got " + out + ", " + in + ", " + rank);
            Objects.requireNonNull(a, "a");
            Objects.requireNonNull(b, "b");
            if (a.length != (long) rank * in || b.length != (long) out * rank) {
                throw new IllegalArgumentException("A has " + a.length + " and B " + b.length + " values, expected "
                        + rank + " x " + in + " and " + out + " x " + rank);
            }
        }

        /** {@code scale * B A}, out x in row-major: what the pair adds to W. */
        public float[] delta(float scale) {
            float[] d = new float[out * in];
            for (int o = 0; o < out; o++) {
                for (int r = 0; r < rank; r++) {
                    float br = scale * b[o * rank + r];
                    if (br == 0) continue;
                    for (int i = 0; i < in; i++) d[o * in + i] += br * a[r * in + i];
                }
            }
            return d;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Pair p
                    && out == p.out
                    && in == p.in
                    && rank == p.rank
                    && Arrays.equals(a, p.a)
                    && Arrays.equals(b, p.b);
        }

        @Override
        public int hashCode() {
            return Objects.hash(out, in, rank, Arrays.hashCode(a), Arrays.hashCode(b));
        }

        @Override
        public String toString() {
            return "Pair[" + out + " x " + in + ", rank " + rank + "]";
        }
    }

    public GgufLoraFile {
        Objects.requireNonNull(architecture, "architecture");
        if (architecture.isBlank()) throw new IllegalArgumentException("architecture must not be blank");
        if (!Float.isFinite(alpha) || alpha < 0)
            throw new IllegalArgumentException("LoRA alpha must be finite and >= 0, got " + alpha);
        pairs = Collections.unmodifiableSortedMap(new TreeMap<>(pairs));
        if (pairs.isEmpty()) throw new IllegalArgumentException("a LoRA file needs at least one pair");
        for (String name : pairs.keySet()) {
            int bytes = (name + A_SUFFIX).getBytes(StandardCharsets.UTF_8).length;
            if (bytes > GgufTensor.MAX_NAME_BYTES) {
                throw new IllegalArgumentException(
                        "'" + name + A_SUFFIX + "' is " + bytes + " bytes, ggml allows " + GgufTensor.MAX_NAME_BYTES);
            }
        }
        extraMetadata = Collections.unmodifiableMap(new LinkedHashMap<>(extraMetadata));
        for (String key : List.of(TYPE_KEY, ARCHITECTURE_KEY, ADAPTER_TYPE_KEY, ALPHA_KEY)) {
            if (extraMetadata.containsKey(key))
                throw new IllegalArgumentException("metadata key '" + key + "' is set by the adapter itself");
        }
    }

    /** llama.cpp's scale for one pair: {@code alpha / rank}, or 1 when alpha is 0. */
    public float scale(String name) {
        Pair p = pairs.get(name);
        if (p == null) throw new IllegalArgumentException("no LoRA pair for '" + name + "'");
        return alpha == 0 ? 1f : alpha / p.rank();
    }

    /** The GGUF form; {@code storage} is F32 or F16. */
    public GgufFile toGguf(GgufType storage) {
        if (storage != GgufType.F32 && storage != GgufType.F16)
            throw new IllegalArgumentException("LoRA tensors are stored in F32 or F16, not " + storage);
        Map<String, GgufValue> meta = new LinkedHashMap<>();
        meta.put(ARCHITECTURE_KEY, GgufValue.string(architecture));
        meta.put(TYPE_KEY, GgufValue.string("adapter"));
        meta.put(ADAPTER_TYPE_KEY, GgufValue.string("lora"));
        meta.put(ALPHA_KEY, GgufValue.float32(alpha));
        meta.putAll(extraMetadata);
        List<GgufTensor> tensors = new ArrayList<>();
        for (Map.Entry<String, Pair> e : pairs.entrySet()) {
            Pair p = e.getValue();
            tensors.add(GgufTensor.quantize(e.getKey() + A_SUFFIX, storage, p.a(), p.in(), p.rank()));
            tensors.add(GgufTensor.quantize(e.getKey() + B_SUFFIX, storage, p.b(), p.rank(), p.out()));
        }
        return new GgufFile(meta, tensors);
    }

    public void write(Path file, GgufType storage) throws IOException {
        GgufWriter.write(file, toGguf(storage));
    }

    public static GgufLoraFile read(Path file) throws IOException {
        try {
            return fromGguf(GgufReader.read(file));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(file.toString())
                    ? e
                    : new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Validates the adapter layout (what llama.cpp checks, and that A and B agree); errors name the problem. */
    public static GgufLoraFile fromGguf(GgufFile file) {
        String type = string(file, TYPE_KEY);
        if (!type.equals("adapter"))
            throw new IllegalArgumentException(TYPE_KEY + " is '" + type + "', expected 'adapter'");
        String adapterType = string(file, ADAPTER_TYPE_KEY);
        if (!adapterType.equals("lora"))
            throw new IllegalArgumentException(ADAPTER_TYPE_KEY + " is '" + adapterType + "', expected 'lora'");
        String architecture = string(file, ARCHITECTURE_KEY);
        GgufValue alphaValue = file.metadata().get(ALPHA_KEY);
        if (alphaValue == null || alphaValue.kind() != GgufValue.Kind.FLOAT32) {
            throw new IllegalArgumentException(
                    ALPHA_KEY + " must be a FLOAT32, is " + (alphaValue == null ? "missing" : alphaValue.kind()));
        }
        Map<String, GgufTensor> a = new TreeMap<>(), b = new TreeMap<>();
        for (GgufTensor t : file.tensors()) {
            if (t.name().endsWith(A_SUFFIX))
                a.put(t.name().substring(0, t.name().length() - A_SUFFIX.length()), t);
            else if (t.name().endsWith(B_SUFFIX))
                b.put(t.name().substring(0, t.name().length() - B_SUFFIX.length()), t);
            else
                throw new IllegalArgumentException("LoRA tensor '" + t.name() + "' has unexpected suffix (expected "
                        + A_SUFFIX + " or " + B_SUFFIX + ")");
            if (!t.type().hasCodec())
                throw new IllegalArgumentException(
                        "LoRA tensor '" + t.name() + "' is " + t.type() + ", which cannot be decoded here");
        }
        Map<String, Pair> pairs = new TreeMap<>();
        for (String name : union(a, b)) {
            GgufTensor ta = a.get(name), tb = b.get(name);
            if (ta == null || tb == null)
                throw new IllegalArgumentException(
                        "LoRA tensor pair for '" + name + "' is missing " + (ta == null ? "lora_a" : "lora_b"));
            long[] da = ta.dims(), db = tb.dims();
            if (da.length != 2 || db.length != 2)
                throw new IllegalArgumentException("LoRA tensors for '" + name + "' must be 2-D");
            if (da[1] != db[0]) {
                throw new IllegalArgumentException(
                        "LoRA pair '" + name + "': lora_a " + Arrays.toString(da) + " and lora_b " + Arrays.toString(db)
                                + " disagree on the rank (lora_a must be [in, rank], lora_b [rank, out])");
            }
            pairs.put(
                    name,
                    new Pair(
                            Math.toIntExact(db[1]),
                            Math.toIntExact(da[0]),
                            Math.toIntExact(da[1]),
                            ta.dequantize(),
                            tb.dequantize()));
        }
        Map<String, GgufValue> extra = new LinkedHashMap<>(file.metadata());
        for (String key : List.of(TYPE_KEY, ARCHITECTURE_KEY, ADAPTER_TYPE_KEY, ALPHA_KEY)) extra.remove(key);
        return new GgufLoraFile(architecture, alphaValue.asFloat(), pairs, extra);
    }

    private static List<String> union(Map<String, ?> a, Map<String, ?> b) {
        TreeMap<String, Boolean> all = new TreeMap<>();
        a.keySet().forEach(k -> all.put(k, true));
        b.keySet().forEach(k -> all.put(k, true));
        return new ArrayList<>(all.keySet());
    }

    private static String string(GgufFile file, String key) {
        GgufValue v = file.metadata().get(key);
        if (v == null || v.kind() != GgufValue.Kind.STRING) {
            throw new IllegalArgumentException(
                    "LoRA GGUF: " + key + " must be a string, is " + (v == null ? "missing" : v.kind()));
        }
        return v.asString();
    }
}
