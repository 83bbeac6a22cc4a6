package ai.coalora.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.io.Safetensors.Contents;
import ai.coalora.engine.io.Safetensors.Dtype;
import ai.coalora.engine.io.Safetensors.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    private static Map<String, Tensor> sample() {
        float[] floats = {
            1.5f,
            -0.0f,
            0.0f,
            Float.intBitsToFloat(0x7fc0_1234),
            Float.intBitsToFloat(0xffc0_0001),
            Float.POSITIVE_INFINITY,
            Float.MIN_VALUE,
            -Float.MAX_VALUE
        };
        return Map.of(
                "z.weight", Tensor.ofFloats(floats, 2, 4),
                "a.ids", Tensor.ofInts(new int[] {Integer.MIN_VALUE, -1, 0, 7}, 4),
                "m.counts", Tensor.ofLongs(new long[] {Long.MAX_VALUE, -3}, 2, 1),
                "codes", Tensor.ofBytes(new byte[] {0, (byte) 255, 17}, 3),
                "empty", Tensor.ofFloats(new float[0], 0, 5),
                "scalar", Tensor.ofFloats(new float[] {3f}));
    }

    @Test
    void roundTripIsBitExactIncludingNaNPayloadsAndNegativeZero() throws IOException {
        Path file = dir.resolve("model.safetensors");
        Safetensors.write(file, sample(), Map.of("format", "pt", "note", "ünïcode & \"quotes\""));
        Contents read = Safetensors.read(file);

        assertEquals(sample(), read.tensors());
        assertEquals(Map.of("format", "pt", "note", "ünïcode & \"quotes\""), read.metadata());
        float[] floats = read.tensors().get("z.weight").floats();
        int[] expectedBits = {0x3fc00000, 0x80000000, 0, 0x7fc01234, 0xffc00001, 0x7f800000, 1, 0xff7fffff};
        for (int i = 0; i < floats.length; i++)
            assertEquals(expectedBits[i], Float.floatToRawIntBits(floats[i]), "element " + i);
        assertArrayEquals(
                new long[] {Long.MAX_VALUE, -3}, read.tensors().get("m.counts").longs());
        assertArrayEquals(
                new int[] {Integer.MIN_VALUE, -1, 0, 7},
                read.tensors().get("a.ids").ints());
        assertEquals(255, read.tensors().get("codes").bytes()[1] & 0xff);
    }

    @Test
    void layoutFollowsTheSpecSortedAndAligned() {
        byte[] bytes = Safetensors.toBytes(
                Map.of("b", Tensor.ofInts(new int[] {1}, 1), "a", Tensor.ofInts(new int[] {2, 3}, 2)), Map.of());
        long headerLength =
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, headerLength % 8);
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":"), header);
        assertTrue(
                header.stripTrailing().endsWith("}")
                        && header.substring(header.stripTrailing().length()).isBlank(),
                "space padding");
        assertFalse(header.contains("__metadata__"), "no metadata, no entry");
        assertEquals(8 + headerLength + 12, bytes.length);
        assertArrayEquals(
                Safetensors.toBytes(
                        Map.of("a", Tensor.ofInts(new int[] {2, 3}, 2), "b", Tensor.ofInts(new int[] {1}, 1)),
                        Map.of()),
                bytes,
                "same content, same bytes, whatever the map's order");
    }

    @Test
    void writingReplacesAtomicallyAndLeavesNoTempFiles() throws IOException {
        Path file = dir.resolve("x.safetensors");
        Safetensors.write(file, Map.of("t", Tensor.ofFloats(new float[] {1}, 1)), Map.of());
        Safetensors.write(file, Map.of("t", Tensor.ofFloats(new float[] {2, 3}, 2)), Map.of());
        assertArrayEquals(
                new float[] {2, 3}, Safetensors.read(file).tensors().get("t").floats());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void readsBf16AndF16ByWideningToFloat() {
        short[] bf16 = {0x3f80, (short) 0xc020, 0x7fc1, 0x0001}; // 1, -2.5, NaN with payload, tiny subnormal
        Tensor wide = Safetensors.fromBytes(
                        file("{\"x\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", halves(bf16)))
                .tensors()
                .get("x");
        assertEquals(Dtype.F32, wide.dtype());
        assertArrayEquals(new long[] {2, 2}, wide.shape());
        float[] values = wide.floats();
        assertEquals(1f, values[0]);
        assertEquals(-2.5f, values[1]);
        assertEquals(0x7fc10000, Float.floatToRawIntBits(values[2]));
        assertEquals(Float.intBitsToFloat(0x00010000), values[3]);

        short[] f16 = {0x3c00, (short) 0xc000, 0x7bff, 0x0001, 0x7c00, (short) 0x8000, 0x3555};
        float[] halfValues = Safetensors.fromBytes(
                        file("{\"h\":{\"dtype\":\"F16\",\"shape\":[7],\"data_offsets\":[0,14]}}", halves(f16)))
                .tensors()
                .get("h")
                .floats();
        assertArrayEquals(
                new float[] {1f, -2f, 65504f, 0x1p-24f, Float.POSITIVE_INFINITY, -0.0f, 0.333251953125f}, halfValues);
        assertEquals(0x80000000, Float.floatToRawIntBits(halfValues[5]), "-0.0 keeps its sign");
    }

    @Test
    void halfConversionIsExactForEveryFiniteHalf() {
        for (int bits = 0; bits < 0x10000; bits++) {
            int exponent = (bits >>> 10) & 0x1f, mantissa = bits & 0x3ff;
            if (exponent == 0x1f) continue;
            double magnitude = exponent == 0 ? mantissa * 0x1p-24 : Math.scalb(1 + mantissa / 1024.0, exponent - 15);
            double expected = (bits & 0x8000) != 0 ? -magnitude : magnitude;
            assertEquals(
                    Float.floatToRawIntBits((float) expected),
                    Safetensors.halfToFloat(bits),
                    "half " + Integer.toHexString(bits));
        }
    }

    @Test
    void truncatedFileIsRejectedNamingTheFile() throws IOException {
        Path file = dir.resolve("cut.safetensors");
        byte[] whole = Safetensors.toBytes(sample(), Map.of());
        Files.write(file, Arrays.copyOf(whole, whole.length - 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.read(file));
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("run past"), e.getMessage());

        Files.write(file, Arrays.copyOf(whole, 40)); // cut inside the header
        assertRejected(() -> Safetensors.read(file), "header length");
        Files.write(file, new byte[5]);
        assertRejected(() -> Safetensors.read(file), "truncated");
    }

    @Test
    void headerLongerThanTheFileIsRejected() {
        byte[] bytes = Safetensors.toBytes(sample(), Map.of());
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, bytes.length);
        assertRejected(() -> Safetensors.fromBytes(bytes), "header length");
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -8);
        assertRejected(() -> Safetensors.fromBytes(bytes), "header length");
    }

    @Test
    void malformedHeadersAreRejected() {
        assertRejected(() -> Safetensors.fromBytes(file("[1, 2]", new byte[0])), "not a JSON object");
        assertRejected(() -> Safetensors.fromBytes(file("{\"a\": ", new byte[0])), "not valid JSON");
        assertRejected(() -> Safetensors.fromBytes(file("{} {}", new byte[0])), "not valid JSON");
        assertRejected(
                () -> Safetensors.fromBytes(
                        file(entry("a", "F32", "[1]", 0, 4) + entry("a", "F32", "[1]", 4, 8), new byte[8])),
                "not valid JSON"); // a duplicate name
        assertRejected(() -> Safetensors.fromBytes(file("{\"__metadata__\":{\"k\":1}}", new byte[0])), "not a string");
        assertRejected(() -> Safetensors.fromBytes(file(entry("a", "F32", "[-1]", 0, 4), new byte[4])), "non-negative");
        assertRejected(
                () -> Safetensors.fromBytes(
                        file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4])),
                "data_offsets");
    }

    @Test
    void unknownDtypeIsRejected() {
        assertRejected(
                () -> Safetensors.fromBytes(file(entry("a", "F64", "[1]", 0, 8), new byte[8])),
                "unsupported dtype 'F64'");
    }

    @Test
    void shapeThatDisagreesWithTheOffsetsIsRejected() {
        assertRejected(
                () -> Safetensors.fromBytes(file(entry("a", "F32", "[2,3]", 0, 20), new byte[20])), "needs 24 bytes");
    }

    @Test
    void badOffsetsAreRejected() {
        assertRejected(() -> Safetensors.fromBytes(file(entry("a", "U8", "[0]", 4, 2), new byte[4])), "end before");
        assertRejected(
                () -> Safetensors.fromBytes(file(entry("a", "F32", "[1]", 4, 8), new byte[8])), "belong to no tensor");
        assertRejected(
                () -> Safetensors.fromBytes(file(entry("a", "F32", "[1]", 0, 4), new byte[6])), "2 trailing bytes");
        assertRejected(() -> Safetensors.fromBytes(file(entry("a", "F32", "[1]", 0, 4), new byte[2])), "run past");
    }

    @Test
    void overlappingTensorsAreRejected() {
        String header = entry("a", "F32", "[2]", 0, 8) + entry("b", "F32", "[1]", 4, 8);
        assertRejected(() -> Safetensors.fromBytes(file(header, new byte[8])), "'b' overlaps tensor 'a'");
    }

    @Test
    void tensorConstructorChecksTheShape() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.ofFloats(new float[3], 2, 2));
        assertThrows(
                IllegalStateException.class, () -> Tensor.ofInts(new int[1], 1).floats());
        assertThrows(
                IllegalArgumentException.class,
                () -> Safetensors.toBytes(Map.of("__metadata__", Tensor.ofInts(new int[1], 1)), Map.of()));
    }

    // ---- helpers: hand-made files, for the corrupt cases the writer can never produce ----

    /** One header field; several are concatenated into one object by {@link #file}. */
    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return ",\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + ","
                + end + "]}";
    }

    private static byte[] file(String header, byte[] data) {
        String json = header.startsWith(",") ? "{" + header.substring(1) + "}" : header;
        byte[] headerBytes = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out =
                ByteBuffer.allocate(8 + headerBytes.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return out.putLong(headerBytes.length).put(headerBytes).put(data).array();
    }

    private static byte[] halves(short[] values) {
        ByteBuffer out = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : values) out.putShort(v);
        return out.array();
    }

    private static void assertRejected(org.junit.jupiter.api.function.Executable read, String expectedInMessage) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, read);
        assertTrue(e.getMessage().contains(expectedInMessage), "message: " + e.getMessage());
    }
}
