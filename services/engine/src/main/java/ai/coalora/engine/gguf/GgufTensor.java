package ai.coalora.engine.gguf;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a GGUF file: its name, its dimensions in ggml's order (innermost first: a PyTorch / Hugging Face
 * weight of shape (out, in) has {@code dims = [in, out]}), its type and its raw bytes in ggml's layout (rows of
 * {@code dims[0]} elements, each row a whole number of blocks). The byte array is shared, not copied.
 */
public record GgufTensor(String name, long[] dims, GgufType type, byte[] data) {
    /** ggml's GGML_MAX_NAME is 64 including the terminating NUL. */
    public static final int MAX_NAME_BYTES = 63;
    /** ggml's GGML_MAX_DIMS. */
    public static final int MAX_DIMS = 4;

    public GgufTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dims, "dims");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        String problem = checkInfo(name, dims, type);
        if (problem != null) throw new IllegalArgumentException(problem);
        long bytes = type.byteSize(elementCount(dims));
        if (bytes != data.length) {
            throw new IllegalArgumentException("tensor '" + name + "': " + Arrays.toString(dims) + " of " + type
                    + " needs " + bytes + " bytes, got " + data.length);
        }
        dims = dims.clone();
    }

    /** Quantizes row-major values (innermost dimension first in {@code dims}) to {@code type}. */
    public static GgufTensor quantize(String name, GgufType type, float[] values, long... dims) {
        if (elementCount(dims) != values.length) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "': " + values.length + " values for dims " + Arrays.toString(dims));
        }
        String problem = checkInfo(name, dims, type);
        if (problem != null) throw new IllegalArgumentException(problem);
        return new GgufTensor(name, dims, type, type.quantize(values));
    }

    /** A weight matrix of Hugging Face shape (rows = out, cols = in), row-major, stored as dims [cols, rows]. */
    public static GgufTensor matrix(String name, GgufType type, float[] values, int rows, int cols) {
        return quantize(name, type, values, cols, rows);
    }

    /** The values, dequantized the way ggml does (row-major, innermost dimension fastest). */
    public float[] dequantize() {
        return type.dequantize(data);
    }

    public long elementCount() {
        return elementCount(dims);
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Null when name, dims and type can form a ggml tensor, else what is wrong. */
    static String checkInfo(String name, long[] dims, GgufType type) {
        int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes == 0) return "tensor name is empty";
        if (nameBytes > MAX_NAME_BYTES)
            return "tensor '" + name + "': name is " + nameBytes + " bytes, ggml allows " + MAX_NAME_BYTES;
        String where = "tensor '" + name + "': ";
        if (dims.length < 1 || dims.length > MAX_DIMS)
            return where + dims.length + " dimensions, must be 1 to " + MAX_DIMS;
        for (long d : dims) if (d < 0) return where + "negative dimension in " + Arrays.toString(dims);
        try {
            elementCount(dims);
        } catch (ArithmeticException e) {
            return where + "dimensions " + Arrays.toString(dims) + " overflow";
        }
        if (dims[0] % type.blockSize != 0) {
            return where + "row length " + dims[0] + " is not a multiple of " + type + "'s block size "
                    + type.blockSize;
        }
        return null;
    }

    static long elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t
                && name.equals(t.name)
                && type == t.type
                && Arrays.equals(dims, t.dims)
                && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, type, Arrays.hashCode(dims), Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "GgufTensor[" + name + " " + type + " " + Arrays.toString(dims) + "]";
    }
}
