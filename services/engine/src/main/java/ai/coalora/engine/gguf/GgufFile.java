package ai.coalora.engine.gguf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What a GGUF file holds: metadata key/values and tensors, both in file order. {@code general.alignment} (a
 * UINT32 power of two, default {@value #DEFAULT_ALIGNMENT}) sets the alignment of the data section and of every
 * tensor's data.
 */
public record GgufFile(Map<String, GgufValue> metadata, List<GgufTensor> tensors) {
    public static final String ALIGNMENT_KEY = "general.alignment";
    public static final int DEFAULT_ALIGNMENT = 32;
    /** The specification's limit on a key's length. */
    public static final int MAX_KEY_BYTES = 65535;

    public GgufFile {
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(tensors, "tensors");
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        tensors = List.copyOf(tensors);
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            String problem = checkKey(e.getKey());
            if (problem != null) throw new IllegalArgumentException(problem);
            Objects.requireNonNull(e.getValue(), "value of " + e.getKey());
        }
        alignmentOf(metadata);
        Set<String> names = new LinkedHashSet<>();
        for (GgufTensor t : tensors) {
            if (!names.add(t.name())) throw new IllegalArgumentException("duplicate tensor name '" + t.name() + "'");
        }
    }

    public GgufFile(Map<String, GgufValue> metadata, GgufTensor... tensors) {
        this(metadata, List.of(tensors));
    }

    /** This file with one more metadata key (or that key's value replaced). */
    public GgufFile with(String key, GgufValue value) {
        Map<String, GgufValue> m = new LinkedHashMap<>(metadata);
        m.put(key, value);
        return new GgufFile(m, tensors);
    }

    public int alignment() {
        return alignmentOf(metadata);
    }

    /** The named tensor; an IllegalArgumentException naming the known tensors when absent. */
    public GgufTensor tensor(String name) {
        for (GgufTensor t : tensors) if (t.name().equals(name)) return t;
        throw new IllegalArgumentException("no tensor '" + name + "' in this GGUF file");
    }

    /** The value of a metadata key, or an IllegalArgumentException naming the key. */
    public GgufValue get(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) throw new IllegalArgumentException("GGUF file has no metadata key '" + key + "'");
        return v;
    }

    /** A copy with these metadata entries added (or replaced), keeping the order of the others. */
    public GgufFile with(Map<String, GgufValue> more) {
        Map<String, GgufValue> m = new LinkedHashMap<>(metadata);
        m.putAll(more);
        return new GgufFile(m, new ArrayList<>(tensors));
    }

    static int alignmentOf(Map<String, GgufValue> metadata) {
        GgufValue v = metadata.get(ALIGNMENT_KEY);
        if (v == null) return DEFAULT_ALIGNMENT;
        if (v.kind() != GgufValue.Kind.UINT32)
            throw new IllegalArgumentException(ALIGNMENT_KEY + " must be a UINT32, is " + v.kind());
        long a = v.asLong();
        if (a == 0 || (a & (a - 1)) != 0 || a > 1 << 30) {
            throw new IllegalArgumentException(ALIGNMENT_KEY + " is " + a + ", not a power of two up to 2^30");
        }
        return (int) a;
    }

    /** Null when the key is valid: non-empty, printable ASCII, at most 65535 bytes (the specification). */
    static String checkKey(String key) {
        if (key == null || key.isEmpty()) return "metadata key is empty";
        if (key.length() > MAX_KEY_BYTES)
            return "metadata key of " + key.length() + " bytes, more than " + MAX_KEY_BYTES;
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 0x20 || c > 0x7e) return "metadata key '" + key + "' is not printable ASCII (character " + i + ")";
        }
        return null;
    }
}
