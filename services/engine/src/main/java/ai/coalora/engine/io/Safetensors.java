package ai.coalora.engine.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.IntUnaryOperator;

/**
 * Hugging Face safetensors files, so that weights and adapters we produce load in PyTorch / transformers / PEFT
 * (and theirs load here) without pickle.
 *
 * <p>Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}}
 * padded with spaces to a multiple of 8, then the tensors' raw little-endian bytes, offsets relative to the
 * start of that data section. Files are held in memory whole, so one file is limited to 2 GiB.
 */
public final class Safetensors {
    private Safetensors() {}

    private static final String METADATA = "__metadata__";
    private static final int LENGTH_FIELD = 8;
    /** The reference implementation's limit; a larger header length is a corrupt file, not a real header. */
    private static final long MAX_HEADER = 100L << 20;

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION) // a name twice would be ambiguous
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** Element types held in a {@link Tensor}. Files may also hold F16 and BF16, which are read as F32. */
    public enum Dtype {
        F32(4),
        I32(4),
        I64(8),
        U8(1);

        public final int size;

        Dtype(int size) {
            this.size = size;
        }
    }

    /**
     * One tensor: its element type, shape and raw little-endian bytes. The arrays are shared, not copied
     * (tensors can be large): treat them as immutable.
     */
    public record Tensor(Dtype dtype, long[] shape, byte[] data) {
        public Tensor {
            Objects.requireNonNull(dtype, "dtype");
            Objects.requireNonNull(shape, "shape");
            Objects.requireNonNull(data, "data");
            long bytes = Math.multiplyExact(elementCount(shape), dtype.size);
            if (bytes != data.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + dtype + " needs "
                        + bytes + " bytes, got " + data.length);
            }
        }

        public static Tensor ofFloats(float[] values, long... shape) {
            ByteBuffer bytes = littleEndian(new byte[values.length * Float.BYTES]);
            bytes.asFloatBuffer().put(values); // a bulk copy: NaN payloads and -0.0 stay bit-exact
            return new Tensor(Dtype.F32, shape, bytes.array());
        }

        public static Tensor ofInts(int[] values, long... shape) {
            ByteBuffer bytes = littleEndian(new byte[values.length * Integer.BYTES]);
            bytes.asIntBuffer().put(values);
            return new Tensor(Dtype.I32, shape, bytes.array());
        }

        public static Tensor ofLongs(long[] values, long... shape) {
            ByteBuffer bytes = littleEndian(new byte[values.length * Long.BYTES]);
            bytes.asLongBuffer().put(values);
            return new Tensor(Dtype.I64, shape, bytes.array());
        }

        /** Unsigned bytes (U8), e.g. packed quantization codes. */
        public static Tensor ofBytes(byte[] values, long... shape) {
            return new Tensor(Dtype.U8, shape, values.clone());
        }

        public float[] floats() {
            float[] values = new float[elements(Dtype.F32)];
            littleEndian(data).asFloatBuffer().get(values);
            return values;
        }

        public int[] ints() {
            int[] values = new int[elements(Dtype.I32)];
            littleEndian(data).asIntBuffer().get(values);
            return values;
        }

        public long[] longs() {
            long[] values = new long[elements(Dtype.I64)];
            littleEndian(data).asLongBuffer().get(values);
            return values;
        }

        public byte[] bytes() {
            elements(Dtype.U8);
            return data.clone();
        }

        public long elementCount() {
            return elementCount(shape);
        }

        private int elements(Dtype expected) {
            if (dtype != expected) throw new IllegalStateException("tensor is " + dtype + ", not " + expected);
            return data.length / dtype.size;
        }

        private static long elementCount(long[] shape) {
            long count = 1;
            for (long dim : shape) {
                if (dim < 0)
                    throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
                count = Math.multiplyExact(count, dim);
            }
            return count;
        }

        // Value semantics (a record compares arrays by identity otherwise).
        @Override
        public boolean equals(Object o) {
            return o instanceof Tensor t
                    && dtype == t.dtype
                    && Arrays.equals(shape, t.shape)
                    && Arrays.equals(data, t.data);
        }

        @Override
        public int hashCode() {
            return Objects.hash(dtype, Arrays.hashCode(shape), Arrays.hashCode(data));
        }

        @Override
        public String toString() {
            return "Tensor[" + dtype + " " + Arrays.toString(shape) + "]";
        }
    }

    /** What a file holds: tensors and free-form string metadata, both sorted by key. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
        public Contents {
            tensors = Collections.unmodifiableSortedMap(new TreeMap<>(tensors));
            metadata = Collections.unmodifiableSortedMap(new TreeMap<>(metadata));
        }
    }

    /** Writes atomically: the file is either absent / left as it was, or complete. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        AtomicFiles.write(file, toBytes(tensors, metadata));
    }

    public static byte[] toBytes(Map<String, Tensor> tensors, Map<String, String> metadata) {
        SortedMap<String, Tensor> sorted = new TreeMap<>(tensors); // deterministic bytes for the same content
        if (sorted.containsKey(METADATA)) throw new IllegalArgumentException(METADATA + " is not a valid tensor name");

        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA);
            new TreeMap<>(metadata).forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> entry : sorted.entrySet()) {
            Tensor tensor = entry.getValue();
            ObjectNode info = header.putObject(entry.getKey());
            info.put("dtype", tensor.dtype().name());
            ArrayNode shape = info.putArray("shape");
            for (long dim : tensor.shape()) shape.add(dim);
            info.putArray("data_offsets").add(offset).add(offset + tensor.data().length);
            offset += tensor.data().length;
        }

        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        int headerLength = (json.length + 7) / 8 * 8; // so the data section starts 8-byte aligned
        long total = LENGTH_FIELD + headerLength + offset;
        if (total > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("tensors too large for one file: " + total + " bytes");

        ByteBuffer out = littleEndian(new byte[(int) total]);
        out.putLong(headerLength).put(json);
        while (out.position() < LENGTH_FIELD + headerLength) out.put((byte) ' ');
        for (Tensor tensor : sorted.values()) out.put(tensor.data());
        return out.array();
    }

    /** Reads and validates a whole file; a corrupt or truncated file is an IllegalArgumentException naming it. */
    public static Contents read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8)
            throw new IOException(file + ": " + size + " bytes, more than this reader's 2 GiB");
        return parse(Files.readAllBytes(file), file.toString());
    }

    public static Contents fromBytes(byte[] bytes) {
        return parse(bytes, "safetensors bytes");
    }

    /** Like {@link #fromBytes(byte[])}, errors naming {@code source} (e.g. the file name the bytes came as). */
    public static Contents fromBytes(byte[] bytes, String source) {
        return parse(bytes, source);
    }

    /** Where one tensor's bytes lie in the data section, as the header says. */
    private record Span(String name, String dtype, long[] shape, long begin, long end) {}

    private static Contents parse(byte[] file, String source) {
        if (file.length < LENGTH_FIELD)
            throw corrupt(source, "truncated: " + file.length + " bytes, less than the 8-byte header length");
        long headerLength = littleEndian(file).getLong(0);
        long afterLength = file.length - LENGTH_FIELD;
        if (headerLength < 0 || headerLength > afterLength || headerLength > MAX_HEADER) {
            throw corrupt(
                    source,
                    "header length " + headerLength + " is impossible with " + afterLength
                            + " bytes after the length field and a 100 MiB limit (truncated or not a safetensors file?)");
        }
        JsonNode header;
        try {
            header = JSON.readTree(file, LENGTH_FIELD, (int) headerLength);
        } catch (IOException e) {
            throw corrupt(
                    source,
                    "header is not valid JSON: "
                            + e.getMessage().lines().findFirst().orElse(""));
        }
        if (header == null || !header.isObject()) throw corrupt(source, "header is not a JSON object");

        Map<String, String> metadata = new TreeMap<>();
        List<Span> spans = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals(METADATA)) metadata = parseMetadata(field.getValue(), source);
            else spans.add(parseSpan(field.getKey(), field.getValue(), source));
        }

        int dataStart = LENGTH_FIELD + (int) headerLength;
        checkCoverage(spans, file.length - dataStart, source);

        Map<String, Tensor> tensors = new TreeMap<>();
        for (Span span : spans) {
            byte[] data = Arrays.copyOfRange(file, dataStart + (int) span.begin, dataStart + (int) span.end);
            tensors.put(
                    span.name,
                    switch (span.dtype) {
                        case "F16" -> new Tensor(Dtype.F32, span.shape, widenHalves(data, Safetensors::halfToFloat));
                        case "BF16" ->
                            new Tensor(Dtype.F32, span.shape, widenHalves(data, Safetensors::bfloat16ToFloat));
                        default -> new Tensor(Dtype.valueOf(span.dtype), span.shape, data);
                    });
        }
        return new Contents(tensors, metadata);
    }

    private static Map<String, String> parseMetadata(JsonNode node, String source) {
        if (!node.isObject()) throw corrupt(source, METADATA + " is not a JSON object");
        Map<String, String> metadata = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (!entry.getValue().isTextual())
                throw corrupt(source, METADATA + " value of '" + entry.getKey() + "' is not a string");
            metadata.put(entry.getKey(), entry.getValue().textValue());
        }
        return metadata;
    }

    private static Span parseSpan(String name, JsonNode info, String source) {
        String where = "tensor '" + name + "'";
        if (!info.isObject()) throw corrupt(source, where + ": entry is not a JSON object");
        JsonNode dtypeNode = info.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw corrupt(source, where + ": missing dtype");
        String dtype = dtypeNode.textValue();
        int size = switch (dtype) {
            case "F32", "I32" -> 4;
            case "I64" -> 8;
            case "U8" -> 1;
            case "F16", "BF16" -> 2;
            default ->
                throw corrupt(
                        source, where + ": unsupported dtype '" + dtype + "' (known: F32, I32, I64, U8, F16, BF16)");
        };
        long[] shape = nonNegativeLongs(info.get("shape"), -1, where + ": shape", source);
        long[] offsets = nonNegativeLongs(info.get("data_offsets"), 2, where + ": data_offsets", source);
        long begin = offsets[0], end = offsets[1];
        if (end < begin)
            throw corrupt(source, where + ": data_offsets " + Arrays.toString(offsets) + " end before they begin");
        long needed;
        try {
            needed = Math.multiplyExact(Tensor.elementCount(shape), size);
        } catch (ArithmeticException e) {
            throw corrupt(source, where + ": shape " + Arrays.toString(shape) + " overflows");
        }
        if (needed != end - begin) {
            throw corrupt(
                    source,
                    where + ": shape " + Arrays.toString(shape) + " of " + dtype + " needs " + needed
                            + " bytes but data_offsets " + Arrays.toString(offsets) + " span " + (end - begin));
        }
        return new Span(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers, of the given length (or any length when it is -1). */
    private static long[] nonNegativeLongs(JsonNode node, int length, String what, String source) {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw corrupt(source, what + " is missing or not an array" + (length >= 0 ? " of " + length : ""));
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode value = node.get(i);
            if (!value.isIntegralNumber() || !value.canConvertToLong() || value.longValue() < 0) {
                throw corrupt(source, what + " holds " + value + ", not a non-negative integer");
            }
            values[i] = value.longValue();
        }
        return values;
    }

    /** Tensors must tile the data section exactly: no overlap (aliasing), no gap or tail (hidden bytes). */
    private static void checkCoverage(List<Span> spans, long dataLength, String source) {
        List<Span> byOffset = new ArrayList<>(spans);
        byOffset.sort(Comparator.comparingLong(Span::begin).thenComparingLong(Span::end));
        long covered = 0;
        String previous = null;
        for (Span span : byOffset) {
            if (span.end > dataLength) {
                throw corrupt(
                        source,
                        "tensor '" + span.name + "': data_offsets [" + span.begin + ", " + span.end + "] run past the "
                                + dataLength + "-byte data section (truncated file?)");
            }
            if (span.begin < covered)
                throw corrupt(source, "tensor '" + span.name + "' overlaps tensor '" + previous + "'");
            if (span.begin > covered) {
                throw corrupt(
                        source, "bytes [" + covered + ", " + span.begin + ") of the data section belong to no tensor");
            }
            covered = span.end;
            previous = span.name;
        }
        if (covered != dataLength)
            throw corrupt(source, (dataLength - covered) + " trailing bytes after the last tensor");
    }

    private static byte[] widenHalves(byte[] halves, IntUnaryOperator widen) {
        ByteBuffer in = littleEndian(halves);
        ByteBuffer out = littleEndian(new byte[halves.length * 2]);
        while (in.hasRemaining()) out.putInt(widen.applyAsInt(in.getShort() & 0xffff));
        return out.array();
    }

    /** bfloat16 is the top half of a float32, so widening is a shift; returns the float's bits. */
    static int bfloat16ToFloat(int bits) {
        return bits << 16;
    }

    /** IEEE half (1 sign, 5 exponent, 10 mantissa bits) to float bits; exact, as every half is a float. */
    static int halfToFloat(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) return sign | 0x7f800000 | (mantissa << 13); // infinity or NaN, payload kept
        if (exponent != 0) return sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
        float subnormal = mantissa * 0x1p-24f; // zero or subnormal: mantissa * 2^-24, a normal float
        return sign | Float.floatToRawIntBits(subnormal);
    }

    private static ByteBuffer littleEndian(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static IllegalArgumentException corrupt(String source, String problem) {
        return new IllegalArgumentException(source + ": " + problem);
    }
}
