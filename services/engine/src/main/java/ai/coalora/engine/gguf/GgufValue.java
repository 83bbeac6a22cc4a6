package ai.coalora.engine.gguf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata value: its {@link Kind} and its Java value. Integers are held widened (uint8..int32 as
 * {@link Integer}, uint32 and int64 as {@link Long}, uint64 as the {@link Long} with the same 64 bits, i.e. read
 * it with {@link Long#toUnsignedString(long)}), float32 as {@link Float}, float64 as {@link Double}, bool as
 * {@link Boolean}, string as {@link String}; an array as an unmodifiable {@link List} of its elements' Java values,
 * all of {@link #elementKind()}. Arrays of arrays are allowed by the specification but not by ggml's reader, so
 * they are refused here too.
 */
public record GgufValue(Kind kind, Kind elementKind, Object value) {

    /** GGUF's {@code gguf_metadata_value_type}, with its ids. */
    public enum Kind {
        UINT8(0, 1),
        INT8(1, 1),
        UINT16(2, 2),
        INT16(3, 2),
        UINT32(4, 4),
        INT32(5, 4),
        FLOAT32(6, 4),
        BOOL(7, 1),
        STRING(8, -1),
        ARRAY(9, -1),
        UINT64(10, 8),
        INT64(11, 8),
        FLOAT64(12, 8);

        public final int id;
        /** Bytes of one value, or -1 when variable (string, array). */
        public final int size;

        Kind(int id, int size) {
            this.id = id;
            this.size = size;
        }

        public static Kind fromId(long id) {
            for (Kind k : values()) if (k.id == id) return k;
            throw new IllegalArgumentException("unknown GGUF value type id " + id);
        }
    }

    public GgufValue {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(value, "value");
        if (kind == Kind.ARRAY) {
            Objects.requireNonNull(elementKind, "elementKind");
            if (elementKind == Kind.ARRAY)
                throw new IllegalArgumentException("arrays of arrays are not supported (ggml rejects them)");
            if (!(value instanceof List<?> list)) throw new IllegalArgumentException("an array value must be a List");
            List<Object> copy = new ArrayList<>(list.size());
            for (Object element : list) copy.add(check(elementKind, element));
            value = Collections.unmodifiableList(copy);
        } else {
            if (elementKind != null) throw new IllegalArgumentException("only arrays have an element kind");
            value = check(kind, value);
        }
    }

    private static Object check(Kind kind, Object v) {
        Objects.requireNonNull(v, "array element");
        switch (kind) {
            case UINT8 -> range(kind, v, Integer.class, 0, 0xFF);
            case INT8 -> range(kind, v, Integer.class, Byte.MIN_VALUE, Byte.MAX_VALUE);
            case UINT16 -> range(kind, v, Integer.class, 0, 0xFFFF);
            case INT16 -> range(kind, v, Integer.class, Short.MIN_VALUE, Short.MAX_VALUE);
            case INT32 -> range(kind, v, Integer.class, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case UINT32 -> range(kind, v, Long.class, 0, 0xFFFF_FFFFL);
            case UINT64, INT64 -> range(kind, v, Long.class, Long.MIN_VALUE, Long.MAX_VALUE);
            case FLOAT32 -> type(kind, v, Float.class);
            case FLOAT64 -> type(kind, v, Double.class);
            case BOOL -> type(kind, v, Boolean.class);
            case STRING -> type(kind, v, String.class);
            case ARRAY -> throw new IllegalArgumentException("nested array");
        }
        return v;
    }

    private static void type(Kind kind, Object v, Class<?> expected) {
        if (!expected.isInstance(v)) {
            throw new IllegalArgumentException(kind + " value must be a " + expected.getSimpleName() + ", got "
                    + v.getClass().getSimpleName());
        }
    }

    private static void range(Kind kind, Object v, Class<?> expected, long lo, long hi) {
        type(kind, v, expected);
        long x = ((Number) v).longValue();
        if (x < lo || x > hi)
            throw new IllegalArgumentException(kind + " value " + x + " out of range [" + lo + ", " + hi + "]");
    }

    public static GgufValue uint8(int v) {
        return new GgufValue(Kind.UINT8, null, v);
    }

    public static GgufValue int8(int v) {
        return new GgufValue(Kind.INT8, null, v);
    }

    public static GgufValue uint16(int v) {
        return new GgufValue(Kind.UINT16, null, v);
    }

    public static GgufValue int16(int v) {
        return new GgufValue(Kind.INT16, null, v);
    }

    public static GgufValue uint32(long v) {
        return new GgufValue(Kind.UINT32, null, v);
    }

    public static GgufValue int32(int v) {
        return new GgufValue(Kind.INT32, null, v);
    }
    /** The 64 bits of an unsigned value (e.g. {@code Long.parseUnsignedLong("18446744073709551615")}). */
    public static GgufValue uint64(long bits) {
        return new GgufValue(Kind.UINT64, null, bits);
    }

    public static GgufValue int64(long v) {
        return new GgufValue(Kind.INT64, null, v);
    }

    public static GgufValue float32(float v) {
        return new GgufValue(Kind.FLOAT32, null, v);
    }

    public static GgufValue float64(double v) {
        return new GgufValue(Kind.FLOAT64, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(Kind.BOOL, null, v);
    }

    public static GgufValue string(String v) {
        return new GgufValue(Kind.STRING, null, v);
    }

    public static GgufValue array(Kind elementKind, List<?> values) {
        return new GgufValue(Kind.ARRAY, elementKind, values);
    }

    /** The value of any integer kind (uint64 as its raw bits). */
    public long asLong() {
        if (!(value instanceof Integer || value instanceof Long))
            throw new IllegalStateException("a " + kind + " is not an integer");
        return ((Number) value).longValue();
    }

    public float asFloat() {
        if (kind != Kind.FLOAT32) throw new IllegalStateException("a " + kind + " is not a FLOAT32");
        return (Float) value;
    }

    public double asDouble() {
        if (kind != Kind.FLOAT64 && kind != Kind.FLOAT32)
            throw new IllegalStateException("a " + kind + " is not a float");
        return ((Number) value).doubleValue();
    }

    public boolean asBoolean() {
        if (kind != Kind.BOOL) throw new IllegalStateException("a " + kind + " is not a BOOL");
        return (Boolean) value;
    }

    public String asString() {
        if (kind != Kind.STRING) throw new IllegalStateException("a " + kind + " is not a STRING");
        return (String) value;
    }

    public List<?> asList() {
        if (kind != Kind.ARRAY) throw new IllegalStateException("a " + kind + " is not an ARRAY");
        return (List<?>) value;
    }

    @Override
    public String toString() {
        if (kind == Kind.ARRAY) {
            List<?> list = asList();
            return "ARRAY<" + elementKind + ">[" + list.size() + "]" + (list.size() <= 8 ? list : "");
        }
        if (kind == Kind.UINT64) return "UINT64 " + Long.toUnsignedString((Long) value);
        return kind + " " + (kind == Kind.STRING ? "\"" + value + "\"" : value);
    }
}
