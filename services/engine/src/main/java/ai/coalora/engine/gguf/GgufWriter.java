package ai.coalora.engine.gguf;

import static java.nio.file.StandardCopyOption.ATOMIC_MOVE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.WRITE;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes GGUF version 3 files (little-endian), as the published specification lays them out and as ggml's
 * {@code gguf.cpp} reads them:
 *
 * <pre>
 * uint32 magic "GGUF" | uint32 version = 3 | uint64 tensor_count | uint64 metadata_kv_count
 * metadata_kv_count x { string key | uint32 value_type | value }
 * tensor_count x      { string name | uint32 n_dims | uint64 dims[n_dims] (innermost first) | uint32 ggml_type | uint64 offset }
 * zero padding to general.alignment (default 32)
 * tensor data: each tensor at its offset (relative to the data section), each followed by zero padding to the alignment
 * </pre>
 *
 * A string is a uint64 byte length and UTF-8 bytes (no NUL); a bool one byte 0/1; an array a uint32 element type,
 * a uint64 count and the elements. Tensors are laid out in order, each offset the sum of the padded sizes before
 * it, which is what ggml requires. Files stream to disk (no whole-file buffer), atomically.
 */
public final class GgufWriter {
    private GgufWriter() {}

    public static final int VERSION = 3;
    static final byte[] MAGIC = {'G', 'G', 'U', 'F'};

    /** Writes atomically: the target is either left as it was or complete. */
    public static void write(Path file, GgufFile contents) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = dir.resolve("." + file.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temp, CREATE_NEW, WRITE)) {
                write(channel, contents);
                channel.force(true);
            }
            Files.move(temp, file, ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** The whole file in memory (at most 2 GiB). */
    public static byte[] toBytes(GgufFile contents) {
        long size = size(contents);
        if (size > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("GGUF file of " + size + " bytes does not fit in one array");
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) size);
        try {
            write(Channels.newChannel(out), contents);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Size in bytes of the file {@link #write} produces. */
    public static long size(GgufFile contents) {
        long size = pad(header(contents).length, contents.alignment());
        for (GgufTensor t : contents.tensors()) size += pad(t.data().length, contents.alignment());
        return size;
    }

    public static void write(WritableByteChannel out, GgufFile contents) throws IOException {
        int alignment = contents.alignment();
        byte[] header = header(contents);
        writeFully(out, ByteBuffer.wrap(header));
        writeFully(out, ByteBuffer.allocate((int) (pad(header.length, alignment) - header.length)));
        for (GgufTensor t : contents.tensors()) {
            writeFully(out, ByteBuffer.wrap(t.data()));
            writeFully(out, ByteBuffer.allocate((int) (pad(t.data().length, alignment) - t.data().length)));
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) out.write(buffer);
    }

    /** Everything before the data section's padding. */
    static byte[] header(GgufFile contents) {
        Out out = new Out();
        out.bytes(MAGIC);
        out.u32(VERSION);
        out.u64(contents.tensors().size());
        out.u64(contents.metadata().size());
        for (Map.Entry<String, GgufValue> kv : contents.metadata().entrySet()) {
            out.string(kv.getKey());
            GgufValue v = kv.getValue();
            out.u32(v.kind().id);
            if (v.kind() == GgufValue.Kind.ARRAY) {
                out.u32(v.elementKind().id);
                List<?> list = v.asList();
                out.u64(list.size());
                for (Object element : list) out.scalar(v.elementKind(), element);
            } else {
                out.scalar(v.kind(), v.value());
            }
        }
        long offset = 0;
        for (GgufTensor t : contents.tensors()) {
            out.string(t.name());
            long[] dims = t.dims();
            out.u32(dims.length);
            for (long d : dims) out.u64(d);
            out.u32(t.type().id);
            out.u64(offset);
            offset += pad(t.data().length, contents.alignment());
        }
        return out.toByteArray();
    }

    static long pad(long n, int alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    /** Little-endian output. */
    private static final class Out extends ByteArrayOutputStream {
        void bytes(byte[] b) {
            write(b, 0, b.length);
        }

        void u8(int v) {
            write(v);
        }

        void u16(int v) {
            u8(v);
            u8(v >>> 8);
        }

        void u32(long v) {
            u16((int) v);
            u16((int) (v >>> 16));
        }

        void u64(long v) {
            u32(v);
            u32(v >>> 32);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void scalar(GgufValue.Kind kind, Object v) {
            switch (kind) {
                case UINT8, INT8, BOOL ->
                    u8(kind == GgufValue.Kind.BOOL ? ((Boolean) v ? 1 : 0) : ((Number) v).intValue());
                case UINT16, INT16 -> u16(((Number) v).intValue());
                case UINT32, INT32 -> u32(((Number) v).longValue());
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT32 -> u32(Float.floatToRawIntBits((Float) v));
                case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) v));
                case STRING -> string((String) v);
                case ARRAY -> throw new IllegalArgumentException("nested array");
            }
        }
    }
}
