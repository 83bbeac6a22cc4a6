package ai.coalora.engine.gguf;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads GGUF files (versions 2 and 3, little-endian; the layout is in {@link GgufWriter}) and validates everything
 * ggml's {@code gguf.cpp} validates, with an IllegalArgumentException naming the source and what is wrong: bad magic,
 * unsupported or byte-swapped version, truncation (at the field it happened), impossible counts, empty or duplicate
 * keys, unknown value types, nested arrays, invalid UTF-8, a {@code general.alignment} that is not a UINT32 power of
 * two, tensor names too long or duplicated, more than 4 dimensions, unknown ggml type ids, rows that are not whole
 * blocks, and tensor offsets that are misaligned, out of the file's range, or not where ggml expects them (in order,
 * each tensor padded to the alignment).
 *
 * <p>{@link #open} reads the header only; tensors are read one at a time with {@link #tensor(String)} (so files
 * larger than memory can be taken apart), or all at once with {@link #readAll()} / {@link #read(Path)}.
 */
public final class GgufReader implements Closeable {
    /** A tensor as the header describes it; {@code offset} is relative to the data section. */
    public record TensorInfo(String name, long[] dims, GgufType type, long offset, long byteSize) {
        public TensorInfo {
            dims = dims.clone();
        }

        @Override
        public long[] dims() {
            return dims.clone();
        }

        public long elementCount() {
            return GgufTensor.elementCount(dims);
        }

        @Override
        public String toString() {
            return "TensorInfo[" + name + " " + type + " " + Arrays.toString(dims) + " @" + offset + "]";
        }
    }

    private final Source source;
    private final String name;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final List<TensorInfo> infos;
    private final int alignment;
    private final long dataOffset;

    private GgufReader(Source source, String name) throws IOException {
        this.source = source;
        this.name = name;
        Cursor in = new Cursor(source, name);
        byte[] magic = in.bytes(4, "the magic");
        if (!Arrays.equals(magic, GgufWriter.MAGIC)) {
            throw corrupt("bad magic " + printable(magic) + ", expected 'GGUF' (not a GGUF file)");
        }
        long v = in.u32("the version");
        if (v != 0 && (v & 0xFFFF) == 0) {
            throw corrupt("unsupported version 0x" + Long.toHexString(v)
                    + ": looks byte-swapped, big-endian GGUF is not supported");
        }
        if (v != 2 && v != GgufWriter.VERSION) {
            throw corrupt("unsupported GGUF version " + v + " (this reader reads versions 2 and 3)");
        }
        version = (int) v;
        long nTensors = in.count("the tensor count", 33);
        long nKv = in.count("the metadata key/value count", 14);

        Map<String, GgufValue> kvs = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            String key = in.string("metadata key " + i);
            String keyProblem = GgufFile.checkKey(key);
            if (keyProblem != null) throw corrupt("metadata key " + i + ": " + keyProblem);
            if (kvs.containsKey(key)) throw corrupt("duplicate metadata key '" + key + "'");
            String where = "metadata '" + key + "'";
            GgufValue.Kind kind = kind(in.u32(where + " value type"), where);
            GgufValue value;
            if (kind == GgufValue.Kind.ARRAY) {
                GgufValue.Kind element = kind(in.u32(where + " array element type"), where);
                if (element == GgufValue.Kind.ARRAY)
                    throw corrupt(where + ": arrays of arrays are not supported (ggml rejects them)");
                long n = in.count(where + " array length", element.size < 0 ? 8 : element.size);
                List<Object> list = new ArrayList<>((int) Math.min(n, 1 << 16));
                for (long j = 0; j < n; j++) list.add(in.scalar(element, where + "[" + j + "]"));
                value = new GgufValue(kind, element, list);
            } else {
                value = new GgufValue(kind, null, in.scalar(kind, where));
            }
            kvs.put(key, value);
        }
        metadata = Collections.unmodifiableMap(kvs);
        try {
            alignment = GgufFile.alignmentOf(metadata);
        } catch (IllegalArgumentException e) {
            throw corrupt(e.getMessage());
        }

        List<TensorInfo> list = new ArrayList<>();
        List<long[]> rawOffsets = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (long i = 0; i < nTensors; i++) {
            String tensor = in.string("the name of tensor " + i);
            String where = "tensor '" + tensor + "'";
            if (!names.add(tensor)) throw corrupt("duplicate tensor name '" + tensor + "'");
            long nDims = in.u32(where + " dimension count");
            if (nDims < 1 || nDims > GgufTensor.MAX_DIMS) {
                throw corrupt(where + ": " + nDims + " dimensions, must be 1 to " + GgufTensor.MAX_DIMS);
            }
            long[] dims = new long[(int) nDims];
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.u64(where + " dimension " + d);
                if (dims[d] < 0)
                    throw corrupt(where + ": dimension " + d + " is " + Long.toUnsignedString(dims[d]) + ", too large");
            }
            long typeId = in.u32(where + " type");
            GgufType type;
            try {
                type = GgufType.fromId(typeId);
            } catch (IllegalArgumentException e) {
                throw corrupt(where + ": " + e.getMessage());
            }
            String problem = GgufTensor.checkInfo(tensor, dims, type);
            if (problem != null) throw corrupt(problem);
            long offset = in.u64(where + " offset");
            long bytes;
            try {
                bytes = type.byteSize(GgufTensor.elementCount(dims));
            } catch (ArithmeticException e) {
                throw corrupt(where + ": size in bytes overflows");
            }
            list.add(new TensorInfo(tensor, dims, type, offset, bytes));
        }
        infos = List.copyOf(list);

        long headerEnd = in.position();
        dataOffset = nTensors > 0 ? GgufWriter.pad(headerEnd, alignment) : headerEnd;
        long size = source.size();
        long expected = 0;
        for (TensorInfo t : infos) {
            String where = "tensor '" + t.name() + "'";
            if (Long.remainderUnsigned(t.offset(), alignment) != 0) {
                throw corrupt(where + ": offset " + Long.toUnsignedString(t.offset())
                        + " is misaligned (not a multiple of the alignment " + alignment + ")");
            }
            if (t.offset() < 0 || t.offset() > size || dataOffset + t.offset() > size - t.byteSize()) {
                throw corrupt(where + ": data at offset " + Long.toUnsignedString(t.offset()) + " (" + t.byteSize()
                        + " bytes) is out of range: the data section starts at byte " + dataOffset + " of a " + size
                        + "-byte file (truncated?)");
            }
            if (t.offset() != expected) {
                throw corrupt(where + ": offset " + t.offset() + ", expected " + expected
                        + " (ggml requires the tensors in order, each padded to the alignment " + alignment + ")");
            }
            expected += GgufWriter.pad(t.byteSize(), alignment);
        }
    }

    /** Opens a file and reads its header; tensors are read on demand. Close it. */
    public static GgufReader open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new GgufReader(new FileSource(channel), file.toString());
        } catch (RuntimeException | IOException e) {
            channel.close();
            throw e;
        }
    }

    /** Reads and validates a whole file. */
    public static GgufFile read(Path file) throws IOException {
        try (GgufReader reader = open(file)) {
            return reader.readAll();
        }
    }

    public static GgufFile fromBytes(byte[] bytes) {
        return fromBytes(bytes, "GGUF bytes");
    }

    /** Like {@link #fromBytes(byte[])}, errors naming {@code source}. */
    public static GgufFile fromBytes(byte[] bytes, String source) {
        try (GgufReader reader = new GgufReader(new BytesSource(bytes), source)) {
            return reader.readAll();
        } catch (IOException e) {
            throw new IllegalStateException(e); // no I/O on an array
        }
    }

    public int version() {
        return version;
    }

    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    public List<TensorInfo> tensorInfos() {
        return infos;
    }

    public int alignment() {
        return alignment;
    }

    /** Absolute file offset of the data section. */
    public long dataOffset() {
        return dataOffset;
    }

    public TensorInfo info(String tensor) {
        for (TensorInfo t : infos) if (t.name().equals(tensor)) return t;
        throw new IllegalArgumentException(name + ": no tensor '" + tensor + "'");
    }

    /** Reads one tensor's bytes (at most 2 GiB per tensor). */
    public GgufTensor tensor(String tensor) throws IOException {
        TensorInfo t = info(tensor);
        if (t.byteSize() > Integer.MAX_VALUE - 8)
            throw new IOException(name + ": tensor '" + tensor + "' is larger than 2 GiB");
        byte[] data = new byte[(int) t.byteSize()];
        source.read(dataOffset + t.offset(), data, 0, data.length);
        return new GgufTensor(t.name(), t.dims(), t.type(), data);
    }

    public GgufFile readAll() throws IOException {
        List<GgufTensor> tensors = new ArrayList<>();
        for (TensorInfo t : infos) tensors.add(tensor(t.name()));
        return new GgufFile(metadata, tensors);
    }

    @Override
    public void close() throws IOException {
        source.close();
    }

    private GgufValue.Kind kind(long id, String where) {
        try {
            return GgufValue.Kind.fromId(id);
        } catch (IllegalArgumentException e) {
            throw corrupt(where + ": " + e.getMessage());
        }
    }

    private IllegalArgumentException corrupt(String problem) {
        return new IllegalArgumentException(name + ": " + problem);
    }

    private static String printable(byte[] b) {
        StringBuilder s = new StringBuilder("'");
        for (byte x : b)
            s.append(x >= 0x20 && x < 0x7f ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xff));
        return s.append("'").toString();
    }

    // ---------------------------------------------------------------- input

    private interface Source extends Closeable {
        long size() throws IOException;

        void read(long position, byte[] dst, int off, int len) throws IOException;
    }

    private record BytesSource(byte[] bytes) implements Source {
        public long size() {
            return bytes.length;
        }

        public void read(long position, byte[] dst, int off, int len) {
            System.arraycopy(bytes, (int) position, dst, off, len);
        }

        public void close() {}
    }

    private record FileSource(FileChannel channel) implements Source {
        public long size() throws IOException {
            return channel.size();
        }

        public void read(long position, byte[] dst, int off, int len) throws IOException {
            ByteBuffer buffer = ByteBuffer.wrap(dst, off, len);
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, position + buffer.position() - off);
                if (n < 0)
                    throw new IOException("unexpected end of file at byte " + (position + buffer.position() - off));
            }
        }

        public void close() throws IOException {
            channel.close();
        }
    }

    /** Sequential little-endian reads of the header through a buffer; truncation names the field. */
    private static final class Cursor {
        private final Source source;
        private final String name;
        private final long size;
        private final byte[] buffer = new byte[1 << 16];
        private long bufferStart;
        private int bufferLength;
        private long position;

        Cursor(Source source, String name) throws IOException {
            this.source = source;
            this.name = name;
            this.size = source.size();
        }

        long position() {
            return position;
        }

        private void need(long n, String what) {
            if (n > size - position) {
                throw new IllegalArgumentException(name + ": truncated: " + what + " needs " + n + " bytes at offset "
                        + position + " but the file has " + size + " bytes");
            }
        }

        byte[] bytes(int n, String what) throws IOException {
            need(n, what);
            byte[] out = new byte[n];
            int done = 0;
            while (done < n) {
                if (position < bufferStart || position >= bufferStart + bufferLength) {
                    if (n - done >= buffer.length) { // large: read directly
                        source.read(position, out, done, n - done);
                        position += n - done;
                        return out;
                    }
                    bufferStart = position;
                    bufferLength = (int) Math.min(buffer.length, size - position);
                    source.read(bufferStart, buffer, 0, bufferLength);
                }
                int at = (int) (position - bufferStart);
                int k = Math.min(n - done, bufferLength - at);
                System.arraycopy(buffer, at, out, done, k);
                done += k;
                position += k;
            }
            return out;
        }

        long le(int n, String what) throws IOException {
            byte[] b = bytes(n, what);
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = v << 8 | (b[i] & 0xff);
            return v;
        }

        long u32(String what) throws IOException {
            return le(4, what);
        }

        long u64(String what) throws IOException {
            return le(8, what);
        }

        /** A uint64 count of items of at least {@code minBytes} each, checked against the bytes left. */
        long count(String what, int minBytes) throws IOException {
            long n = u64(what);
            if (n < 0 || n > (size - position) / minBytes) {
                throw new IllegalArgumentException(name + ": " + what + " is " + Long.toUnsignedString(n)
                        + ", impossible with " + (size - position) + " bytes left (truncated or corrupt)");
            }
            return n;
        }

        String string(String what) throws IOException {
            long n = u64(what + " length");
            if (n < 0 || n > size - position) {
                throw new IllegalArgumentException(
                        name + ": truncated: " + what + " is a string of " + Long.toUnsignedString(n)
                                + " bytes at offset " + position + " but the file has " + size + " bytes");
            }
            if (n > Integer.MAX_VALUE - 8)
                throw new IllegalArgumentException(name + ": " + what + ": string of " + n + " bytes is too long");
            byte[] b = bytes((int) n, what);
            try {
                CharBuffer chars = StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b));
                return chars.toString();
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException(name + ": " + what + " is not valid UTF-8");
            }
        }

        Object scalar(GgufValue.Kind kind, String what) throws IOException {
            return switch (kind) {
                case UINT8 -> (int) le(1, what);
                case INT8 -> (int) (byte) le(1, what);
                case UINT16 -> (int) le(2, what);
                case INT16 -> (int) (short) le(2, what);
                case UINT32 -> le(4, what);
                case INT32 -> (int) le(4, what);
                case UINT64, INT64 -> le(8, what);
                case FLOAT32 -> Float.intBitsToFloat((int) le(4, what));
                case FLOAT64 -> Double.longBitsToDouble(le(8, what));
                case BOOL -> {
                    long b = le(1, what);
                    if (b > 1)
                        throw new IllegalArgumentException(name + ": " + what + ": bool byte is " + b + ", not 0 or 1");
                    yield b == 1;
                }
                case STRING -> string(what);
                case ARRAY -> throw new IllegalArgumentException(name + ": " + what + ": nested array");
            };
        }
    }
}
