package ai.coalora.engine.quant;

/** A quantized weight matrix of the model: its parameter name and HF shape (rows = out, cols = in features). */
public record MatrixSpec(String name, int rows, int cols) {
    public MatrixSpec {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("matrix name must not be blank");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("matrix " + name + ": shape must be positive, got " + rows + "x" + cols);
        }
    }

    public long numel() {
        return (long) rows * cols;
    }
}
