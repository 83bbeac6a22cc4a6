package ai.coalora.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.gguf.GgufValue.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GGUF v3 write/read: every value type, every tensor type, the byte layout, and corrupt or truncated files. */
class GgufFileTest {
    @TempDir
    Path dir;

    static Map<String, GgufValue> everyValueType() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.string("llama"));
        m.put("test.uint8", GgufValue.uint8(255));
        m.put("test.int8", GgufValue.int8(-128));
        m.put("test.uint16", GgufValue.uint16(65535));
        m.put("test.int16", GgufValue.int16(-32768));
        m.put("test.uint32", GgufValue.uint32(4_294_967_295L));
        m.put("test.int32", GgufValue.int32(Integer.MIN_VALUE));
        m.put("test.float32", GgufValue.float32(Float.intBitsToFloat(0x7fc0_1234))); // NaN payload kept
        m.put("test.float32_neg_zero", GgufValue.float32(-0f));
        m.put("test.bool_true", GgufValue.bool(true));
        m.put("test.bool_false", GgufValue.bool(false));
        m.put("test.string", GgufValue.string("ünïcode ✓ \"quotes\" and\nnewline"));
        m.put("test.empty_string", GgufValue.string(""));
        m.put("test.uint64", GgufValue.uint64(Long.parseUnsignedLong("18446744073709551615")));
        m.put("test.int64", GgufValue.int64(Long.MIN_VALUE));
        m.put("test.float64", GgufValue.float64(Math.PI));
        m.put("test.array.uint8", GgufValue.array(Kind.UINT8, List.of(0, 1, 255)));
        m.put("test.array.int8", GgufValue.array(Kind.INT8, List.of(-128, 127)));
        m.put("test.array.uint16", GgufValue.array(Kind.UINT16, List.of(65535)));
        m.put("test.array.int16", GgufValue.array(Kind.INT16, List.of(-2, 2)));
        m.put("test.array.uint32", GgufValue.array(Kind.UINT32, List.of(7L, 4_294_967_295L)));
        m.put("test.array.int32", GgufValue.array(Kind.INT32, List.of(-1, 0, 1)));
        m.put("test.array.float32", GgufValue.array(Kind.FLOAT32, List.of(1.5f, Float.NEGATIVE_INFINITY)));
        m.put("test.array.bool", GgufValue.array(Kind.BOOL, List.of(true, false, true)));
        m.put("test.array.string", GgufValue.array(Kind.STRING, List.of("<s>", "</s>", "▁the", "")));
        m.put("test.array.uint64", GgufValue.array(Kind.UINT64, List.of(-1L, 0L)));
        m.put("test.array.int64", GgufValue.array(Kind.INT64, List.of(Long.MAX_VALUE)));
        m.put("test.array.float64", GgufValue.array(Kind.FLOAT64, List.of(-0.0, 1e300)));
        m.put("test.array.empty", GgufValue.array(Kind.INT32, List.of()));
        return m;
    }

    /** One tensor of every codec type, plus raw bytes of a type without a codec here. */
    static List<GgufTensor> everyTensorType() {
        List<GgufTensor> tensors = new ArrayList<>();
        float[] x = GgufTypeTest.gaussian(2 * 512, 1);
        for (GgufType t : GgufTypeTest.BY_PRECISION)
            tensors.add(GgufTensor.quantize("w." + t.ggmlName(), t, x, 512, 2));
        byte[] raw = new byte[2 * GgufType.IQ4_XS.bytesPerBlock];
        new Random(3).nextBytes(raw);
        tensors.add(new GgufTensor("w.iq4_xs", new long[] {256, 2}, GgufType.IQ4_XS, raw));
        tensors.add(GgufTensor.quantize("norm.weight", GgufType.F32, new float[] {1, 2, 3}, 3)); // 12 bytes: padded
        tensors.add(GgufTensor.quantize("cube", GgufType.F16, new float[24], 2, 3, 4));
        return tensors;
    }

    @Test
    void everyValueTypeAndEveryTensorTypeRoundTripBitExactly() throws IOException {
        GgufFile original = new GgufFile(everyValueType(), everyTensorType());
        Path file = dir.resolve("model.gguf");
        GgufWriter.write(file, original);
        assertEquals(GgufWriter.size(original), Files.size(file));
        GgufFile read = GgufReader.read(file);

        assertEquals(original.metadata(), read.metadata());
        assertEquals(
                List.copyOf(original.metadata().keySet()),
                List.copyOf(read.metadata().keySet()),
                "key order");
        assertEquals(original.tensors(), read.tensors());
        assertEquals(
                0x7fc0_1234, Float.floatToRawIntBits(read.get("test.float32").asFloat()));
        assertEquals(
                0x8000_0000,
                Float.floatToRawIntBits(read.get("test.float32_neg_zero").asFloat()));
        assertEquals(
                "18446744073709551615",
                Long.toUnsignedString(read.get("test.uint64").asLong()));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits((Double)
                read.get("test.array.float64").asList().get(0)));
        for (GgufTensor t : read.tensors()) {
            if (t.type().hasCodec())
                assertArrayEquals(original.tensor(t.name()).dequantize(), t.dequantize(), 0f, t.name());
        }
        assertArrayEquals(GgufWriter.toBytes(original), Files.readAllBytes(file));
        assertEquals(
                original.tensors(),
                GgufReader.fromBytes(GgufWriter.toBytes(original)).tensors());
    }

    @Test
    void headerIsReadAloneAndTensorsOnDemand() throws IOException {
        GgufFile original = new GgufFile(everyValueType(), everyTensorType());
        Path file = dir.resolve("lazy.gguf");
        GgufWriter.write(file, original);
        try (GgufReader reader = GgufReader.open(file)) {
            assertEquals(3, reader.version());
            assertEquals(32, reader.alignment());
            assertEquals(0, reader.dataOffset() % 32);
            assertEquals(original.tensors().size(), reader.tensorInfos().size());
            long expected = 0;
            for (GgufReader.TensorInfo info : reader.tensorInfos()) {
                assertEquals(expected, info.offset(), info.name());
                assertEquals(0, info.offset() % 32);
                expected += (info.byteSize() + 31) / 32 * 32;
            }
            assertEquals(reader.dataOffset() + expected, Files.size(file), "the last tensor is padded too");
            assertEquals(original.tensor("w.q4_K"), reader.tensor("w.q4_K"));
            assertArrayEquals(new long[] {2, 3, 4}, reader.info("cube").dims());
        }
    }

    @Test
    void byteLayoutFollowsTheSpecification() {
        Map<String, GgufValue> meta = new LinkedHashMap<>();
        meta.put("a", GgufValue.uint8(7));
        meta.put("s", GgufValue.array(Kind.STRING, List.of("hi")));
        GgufFile file = new GgufFile(meta, GgufTensor.quantize("t", GgufType.F32, new float[] {1f, -2f}, 2));
        byte[] bytes = GgufWriter.toBytes(file);
        String expectedHeader =
                "47475546" + "03000000" + "0100000000000000" + "0200000000000000" // magic, v3, 1 tensor, 2 kv
                        + "0100000000000000" + "61" + "00000000" + "07" // "a": UINT8 7
                        + "0100000000000000" + "73" + "09000000" + "08000000" + "0100000000000000" + "0200000000000000"
                        + "6869" // "s": ARRAY<STRING>["hi"]
                        + "0100000000000000" + "74" + "01000000" + "0200000000000000" + "00000000"
                        + "0000000000000000"; // "t": 1 dim [2], F32, offset 0
        int headerLength = expectedHeader.length() / 2; // 106 bytes, padded to 128
        assertEquals(106, headerLength);
        assertEquals(expectedHeader, HexFormat.of().formatHex(bytes, 0, headerLength));
        for (int i = headerLength; i < 128; i++) assertEquals(0, bytes[i], "padding byte " + i);
        assertEquals("0000803f000000c0", HexFormat.of().formatHex(bytes, 128, 136)); // 1.0f, -2.0f
        assertEquals(160, bytes.length); // tensor data padded to 32
    }

    @Test
    void customAlignmentIsHonouredAndInvalidOnesRefused() {
        Map<String, GgufValue> meta = new LinkedHashMap<>();
        meta.put(GgufFile.ALIGNMENT_KEY, GgufValue.uint32(64));
        GgufFile file = new GgufFile(
                meta,
                GgufTensor.quantize("a", GgufType.F32, new float[3], 3),
                GgufTensor.quantize("b", GgufType.Q8_0, new float[32], 32));
        byte[] bytes = GgufWriter.toBytes(file);
        GgufFile back = GgufReader.fromBytes(bytes);
        assertEquals(64, back.alignment());
        assertEquals(file.tensors(), back.tensors());
        assertEquals(0, bytes.length % 64);

        for (GgufValue bad :
                List.of(GgufValue.uint32(0), GgufValue.uint32(48), GgufValue.uint64(32), GgufValue.int32(32))) {
            Map<String, GgufValue> m = Map.of(GgufFile.ALIGNMENT_KEY, bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GgufFile(m, List.of()));
            assertTrue(e.getMessage().contains(GgufFile.ALIGNMENT_KEY), e.getMessage());
        }
    }

    @Test
    void invalidContentIsRefusedBeforeWriting() {
        assertThrows(IllegalArgumentException.class, () -> new GgufFile(Map.of("", GgufValue.bool(true)), List.of()));
        assertThrows(
                IllegalArgumentException.class, () -> new GgufFile(Map.of("ключ", GgufValue.bool(true)), List.of()));
        GgufTensor t = GgufTensor.quantize("same", GgufType.F32, new float[1], 1);
        IllegalArgumentException dup = assertThrows(IllegalArgumentException.class, () -> new GgufFile(Map.of(), t, t));
        assertTrue(dup.getMessage().contains("duplicate tensor name 'same'"));
        assertThrows(
                IllegalArgumentException.class,
                () -> GgufTensor.quantize("x".repeat(64), GgufType.F32, new float[1], 1));
        assertThrows(
                IllegalArgumentException.class,
                () -> GgufTensor.quantize("five", GgufType.F32, new float[1], 1, 1, 1, 1, 1));
        IllegalArgumentException row = assertThrows(
                IllegalArgumentException.class,
                () -> GgufTensor.quantize("rows", GgufType.Q4_K, new float[512], 128, 4));
        assertTrue(
                row.getMessage().contains("row length 128 is not a multiple of Q4_K's block size 256"),
                row.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> new GgufTensor("short", new long[] {32}, GgufType.Q8_0, new byte[33]));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint8(256));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.int16(40000));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint32(-1));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.array(Kind.ARRAY, List.of()));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.array(Kind.INT32, List.of(1, "two")));
    }

    // ------------------------------------------------------------ corrupt and truncated files

    private static byte[] sample() {
        Map<String, GgufValue> meta = new LinkedHashMap<>();
        meta.put("general.name", GgufValue.string("tiny"));
        meta.put(GgufFile.ALIGNMENT_KEY, GgufValue.uint32(32));
        meta.put("tokens", GgufValue.array(Kind.STRING, List.of("a", "b")));
        meta.put("flag", GgufValue.bool(true));
        return GgufWriter.toBytes(new GgufFile(
                meta,
                GgufTensor.quantize("first.weight", GgufType.Q8_0, GgufTypeTest.gaussian(64, 2), 32, 2),
                GgufTensor.quantize(
                        "second.weight", GgufType.F32, new float[8], 8))); // 32 bytes: the file ends with data
    }

    private static IllegalArgumentException corrupt(byte[] bytes, String... expected) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> GgufReader.fromBytes(bytes, "bad.gguf"));
        assertTrue(e.getMessage().startsWith("bad.gguf: "), e.getMessage());
        for (String part : expected)
            assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' should mention '" + part + "'");
        return e;
    }

    private static int indexOf(byte[] bytes, String text) {
        byte[] needle = text.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + needle.length <= bytes.length; i++) {
            for (int j = 0; j < needle.length; j++) if (bytes[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError(text + " not found");
    }

    private static void putU32(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, (int) v);
    }

    private static void putU64(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
    }

    /** Byte offset of a tensor info's type field (after its name, n_dims and dims). */
    private static int typeField(byte[] b, String tensor, int nDims) {
        return indexOf(b, tensor) + tensor.length() + 4 + 8 * nDims;
    }

    @Test
    void badMagicAndVersions() {
        byte[] b = sample();
        b[0] = 'g';
        corrupt(b, "bad magic 'gGUF'", "not a GGUF file");
        corrupt("PK\u0003\u0004 not gguf".getBytes(StandardCharsets.ISO_8859_1), "bad magic 'PK\\x03\\x04'");
        for (long v : new long[] {1, 4, 0}) {
            byte[] c = sample();
            putU32(c, 4, v);
            corrupt(c, "unsupported GGUF version " + v);
        }
        byte[] swapped = sample();
        putU32(swapped, 4, 0x03000000);
        corrupt(swapped, "byte-swapped", "big-endian");
        byte[] v2 = sample();
        putU32(v2, 4, 2); // version 2 has the same layout
        assertEquals(2, GgufReader.fromBytes(v2).tensors().size());
    }

    @Test
    void everyTruncationIsAnError() {
        byte[] b = sample();
        for (int length = 0; length < b.length; length++) {
            byte[] prefix = Arrays.copyOf(b, length);
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> GgufReader.fromBytes(prefix, "cut.gguf"),
                    "a file cut at " + length + " of " + b.length + " bytes was accepted");
            String m = e.getMessage();
            assertTrue(m.contains("truncated") || m.contains("impossible"), length + ": " + m);
        }
        corrupt(new byte[0], "truncated: the magic needs 4 bytes at offset 0 but the file has 0 bytes");
        byte[] small = GgufWriter.toBytes(new GgufFile(Map.of("general.name", GgufValue.string("tiny")), List.of()));
        corrupt(
                Arrays.copyOf(small, indexOf(small, "tiny") + 2),
                "truncated: metadata 'general.name' is a string of 4 bytes");
        corrupt(Arrays.copyOf(b, b.length - 1), "tensor 'second.weight'", "out of range", "truncated?");
    }

    @Test
    void tensorOffsetsOutOfRangeMisalignedOrOutOfOrder() {
        byte[] b = sample();
        int offsetField = typeField(b, "second.weight", 1) + 4;
        assertEquals(
                96, ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(offsetField)); // 68 bytes of Q8_0, padded
        byte[] far = b.clone();
        putU64(far, offsetField, 1L << 40);
        corrupt(far, "tensor 'second.weight'", "offset 1099511627776", "out of range");
        byte[] negative = b.clone();
        putU64(negative, offsetField, -32L);
        corrupt(negative, "tensor 'second.weight'", "18446744073709551584", "out of range");
        byte[] misaligned = b.clone();
        putU64(misaligned, offsetField, 97);
        corrupt(misaligned, "tensor 'second.weight'", "offset 97 is misaligned", "alignment 32");
        byte[] overlapping = b.clone();
        putU64(overlapping, offsetField, 64);
        corrupt(overlapping, "tensor 'second.weight'", "offset 64, expected 96");
    }

    @Test
    void unknownTypesAndImpossibleShapes() {
        byte[] b = sample();
        for (long id : new long[] {77, 4, 31}) {
            byte[] c = b.clone();
            putU32(c, typeField(c, "first.weight", 2), id);
            corrupt(c, "tensor 'first.weight'", "unknown ggml type id " + id);
        }
        byte[] rows = b.clone();
        putU64(rows, indexOf(rows, "first.weight") + "first.weight".length() + 4, 16); // row of 16: half a Q8_0 block
        corrupt(rows, "tensor 'first.weight'", "row length 16 is not a multiple of Q8_0's block size 32");
        byte[] dims = b.clone();
        putU32(dims, indexOf(dims, "first.weight") + "first.weight".length(), 5);
        corrupt(dims, "tensor 'first.weight'", "5 dimensions");
        byte[] huge = b.clone();
        putU64(huge, indexOf(huge, "first.weight") + "first.weight".length() + 4, -64);
        corrupt(huge, "tensor 'first.weight'", "too large");
        byte[] count = b.clone();
        putU64(count, 8, 1L << 40);
        corrupt(count, "the tensor count is 1099511627776, impossible");
        byte[] kvCount = b.clone();
        putU64(kvCount, 16, -1);
        corrupt(kvCount, "metadata key/value count is 18446744073709551615, impossible");
    }

    @Test
    void badMetadata() {
        byte[] b = sample();
        int nameKey = indexOf(b, "general.name");
        byte[] type = b.clone();
        putU32(type, nameKey + "general.name".length(), 13);
        corrupt(type, "metadata 'general.name'", "unknown GGUF value type id 13");
        byte[] handMade = GgufWriter.toBytes(new GgufFile(
                new LinkedHashMap<>(Map.of("k1", GgufValue.bool(true), "k2", GgufValue.bool(false))), List.of()));
        System.arraycopy("k1".getBytes(StandardCharsets.US_ASCII), 0, handMade, indexOf(handMade, "k2"), 2);
        corrupt(handMade, "duplicate metadata key 'k1'");

        byte[] bool = b.clone();
        bool[indexOf(bool, "flag") + 4 + 4] = 2;
        corrupt(bool, "metadata 'flag'", "bool byte is 2");
        byte[] nested = b.clone();
        putU32(nested, indexOf(nested, "tokens") + 6 + 4, GgufValue.Kind.ARRAY.id);
        corrupt(nested, "metadata 'tokens'", "arrays of arrays");
        byte[] longArray = b.clone();
        putU64(longArray, indexOf(longArray, "tokens") + 6 + 8, 1L << 50);
        corrupt(longArray, "metadata 'tokens' array length", "impossible");
        byte[] utf8 = b.clone();
        utf8[indexOf(utf8, "tiny")] = (byte) 0xC3; // a lead byte followed by ASCII
        corrupt(utf8, "metadata 'general.name'", "not valid UTF-8");
        byte[] alignment = b.clone();
        putU32(alignment, indexOf(alignment, GgufFile.ALIGNMENT_KEY) + GgufFile.ALIGNMENT_KEY.length() + 4, 3);
        corrupt(alignment, "general.alignment is 3, not a power of two");
        byte[] alignmentType = b.clone();
        putU32(
                alignmentType,
                indexOf(alignmentType, GgufFile.ALIGNMENT_KEY) + GgufFile.ALIGNMENT_KEY.length(),
                GgufValue.Kind.INT32.id);
        corrupt(alignmentType, "general.alignment must be a UINT32, is INT32");
        byte[] emptyKey = GgufWriter.toBytes(new GgufFile(Map.of("k", GgufValue.bool(true)), List.of()));
        putU64(emptyKey, 24, 0); // key length 0: the "k" byte is then read as the value type...
        corrupt(emptyKey, "metadata key 0", "empty");
    }

    @Test
    void duplicateTensorNamesAreRefused() {
        byte[] b = GgufWriter.toBytes(new GgufFile(
                Map.of(),
                GgufTensor.quantize("t1", GgufType.F32, new float[1], 1),
                GgufTensor.quantize("t2", GgufType.F32, new float[1], 1)));
        System.arraycopy("t1".getBytes(StandardCharsets.US_ASCII), 0, b, indexOf(b, "t2"), 2);
        corrupt(b, "duplicate tensor name 't1'");
    }
}
