package ai.coalora.engine.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the weights of a BERT encoder out of an ONNX file and gives them their Hugging Face names.
 *
 * <p>ONNX is a protobuf; we need only three messages of it (ModelProto.graph, GraphProto.node and
 * .initializer, TensorProto), so a small wire-format reader here beats a protobuf dependency. Biases,
 * norms and embeddings already carry HF names; exporters rename the linear weights to
 * {@code onnx::MatMul_N} and store them transposed (in x out), so we recover each one's HF name from the
 * MatMul node that consumes it and transpose it back to HF's (out x in) layout.
 */
public final class OnnxWeights {

    /** A float tensor in row-major order. */
    public record Tensor(long[] shape, float[] data) {
        public int rows() {
            return (int) shape[0];
        }

        public int cols() {
            return shape.length > 1 ? (int) shape[1] : 1;
        }
    }

    private static final int ONNX_FLOAT = 1;
    // e.g. /encoder/layer.3/attention/self/query/MatMul_output_0 -> encoder.layer.3.attention.self.query
    private static final Pattern MATMUL_OUTPUT = Pattern.compile("^/(.+)/MatMul(?:_\\d+)?_output_0$");

    private OnnxWeights() {}

    /** All float initializers, linear weights renamed to {@code <module>.weight} in (out x in) layout. */
    public static Map<String, Tensor> read(Path onnxFile) throws IOException {
        ByteBuffer model = ByteBuffer.wrap(Files.readAllBytes(onnxFile));
        Slice graph = null;
        for (Field f : fields(model, 0, model.limit())) {
            if (f.number == 7) graph = f.slice; // ModelProto.graph
        }
        if (graph == null) throw new IOException(onnxFile + ": not an ONNX model (no graph)");

        Map<String, Tensor> raw = new LinkedHashMap<>();
        Map<String, String> matmulWeightToModule = new LinkedHashMap<>();
        for (Field f : fields(model, graph.start, graph.end)) {
            if (f.number == 5) { // GraphProto.initializer
                NamedTensor t = tensor(model, f.slice);
                if (t != null) raw.put(t.name, t.tensor);
            } else if (f.number == 1) { // GraphProto.node
                Node n = node(model, f.slice);
                if (n.opType.equals("MatMul") && n.inputs.size() == 2 && n.outputs.size() == 1) {
                    Matcher m = MATMUL_OUTPUT.matcher(n.outputs.get(0));
                    if (m.matches())
                        matmulWeightToModule.put(n.inputs.get(1), m.group(1).replace('/', '.'));
                }
            }
        }

        Map<String, Tensor> named = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : raw.entrySet()) {
            String module = matmulWeightToModule.get(e.getKey());
            if (module == null) {
                named.put(e.getKey(), e.getValue());
            } else {
                named.put(module + ".weight", transpose(e.getValue()));
            }
        }
        return named;
    }

    private static Tensor transpose(Tensor t) {
        int rows = t.rows(), cols = t.cols();
        float[] out = new float[t.data.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) out[j * rows + i] = t.data[i * cols + j];
        }
        return new Tensor(new long[] {cols, rows}, out);
    }

    // --- protobuf wire format -------------------------------------------------------------------

    private record Slice(int start, int end) {}

    private record Field(int number, int wireType, long varint, Slice slice) {}

    private record NamedTensor(String name, Tensor tensor) {}

    private record Node(String opType, List<String> inputs, List<String> outputs) {}

    private static List<Field> fields(ByteBuffer b, int start, int end) throws IOException {
        List<Field> out = new ArrayList<>();
        int[] pos = {start};
        while (pos[0] < end) {
            long key = varint(b, pos);
            int number = (int) (key >>> 3), wire = (int) (key & 7);
            switch (wire) {
                case 0 -> out.add(new Field(number, wire, varint(b, pos), null));
                case 1 -> {
                    out.add(new Field(number, wire, 0, new Slice(pos[0], pos[0] + 8)));
                    pos[0] += 8;
                }
                case 2 -> {
                    int len = (int) varint(b, pos);
                    if (len < 0 || pos[0] + len > end)
                        throw new IOException("corrupt ONNX file: field overruns its message");
                    out.add(new Field(number, wire, 0, new Slice(pos[0], pos[0] + len)));
                    pos[0] += len;
                }
                case 5 -> {
                    out.add(new Field(number, wire, 0, new Slice(pos[0], pos[0] + 4)));
                    pos[0] += 4;
                }
                default -> throw new IOException("corrupt ONNX file: unknown wire type " + wire);
            }
        }
        return out;
    }

    private static long varint(ByteBuffer b, int[] pos) throws IOException {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= b.limit()) throw new IOException("corrupt ONNX file: truncated varint");
            byte c = b.get(pos[0]++);
            result |= (long) (c & 0x7f) << shift;
            if ((c & 0x80) == 0) return result;
        }
        throw new IOException("corrupt ONNX file: varint too long");
    }

    private static String string(ByteBuffer b, Slice s) {
        byte[] bytes = new byte[s.end - s.start];
        b.get(s.start, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** TensorProto: dims=1, data_type=2, float_data=4, name=8, raw_data=9. Non-float tensors are skipped. */
    private static NamedTensor tensor(ByteBuffer b, Slice s) throws IOException {
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = null;
        Slice rawData = null;
        List<Field> floatData = new ArrayList<>();
        for (Field f : fields(b, s.start, s.end)) {
            switch (f.number) {
                case 1 -> {
                    if (f.wireType == 0) dims.add(f.varint);
                    else {
                        int[] p = {f.slice.start};
                        while (p[0] < f.slice.end) dims.add(varint(b, p));
                    }
                }
                case 2 -> dataType = (int) f.varint;
                case 4 -> floatData.add(f);
                case 8 -> name = string(b, f.slice);
                case 9 -> rawData = f.slice;
                default -> {}
            }
        }
        if (dataType != ONNX_FLOAT || name == null) return null;
        long numel = 1;
        for (long d : dims) numel *= d;
        float[] data = new float[(int) numel];
        if (rawData != null) {
            if ((long) (rawData.end - rawData.start) != numel * 4)
                throw new IOException("tensor " + name + ": raw size does not match its shape");
            b.slice(rawData.start, rawData.end - rawData.start)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer()
                    .get(data);
        } else {
            int i = 0;
            for (Field f : floatData) {
                ByteBuffer fb =
                        b.slice(f.slice.start, f.slice.end - f.slice.start).order(ByteOrder.LITTLE_ENDIAN);
                while (fb.remaining() >= 4 && i < data.length) data[i++] = fb.getFloat();
            }
            if (i != data.length) throw new IOException("tensor " + name + ": float_data does not match its shape");
        }
        return new NamedTensor(
                name, new Tensor(dims.stream().mapToLong(Long::longValue).toArray(), data));
    }

    /** NodeProto: input=1, output=2, op_type=4. */
    private static Node node(ByteBuffer b, Slice s) throws IOException {
        String op = "";
        List<String> in = new ArrayList<>(), out = new ArrayList<>();
        for (Field f : fields(b, s.start, s.end)) {
            switch (f.number) {
                case 1 -> in.add(string(b, f.slice));
                case 2 -> out.add(string(b, f.slice));
                case 4 -> op = string(b, f.slice);
                default -> {}
            }
        }
        return new Node(op, in, out);
    }
}
