package ai.coalora.engine.quant;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * A quantized matrix in real bit-packed storage: what a device receives.
 *
 * <p>Payload (one little-endian bit stream, see {@link BitWriter}), in this order:
 * <ol>
 *   <li>weight codes: numel x b bits (row-major; padding of the last block is not stored);
 *   <li>INT only: per-block zero points, blocks x b bits;
 *   <li>first-level scale codes: blocks x b0 bits;
 *   <li>second-level scales: groups x bits(b1) bits (raw bf16/fp16/fp32 patterns);
 * </ol>
 * then zero bits up to a whole byte. With blocks = ceil(numel/B0) and groups = ceil(blocks/B1), NF's
 * {@link #payloadBits()} is exactly numel x {@link QuantConfig#bitsPerWeight()} when B0*B1 divides numel.
 *
 * <p>Serialized form ({@link #toBytes()}), little-endian: magic "CQPM", version u8 (1), quantizer u8 (NF=0,
 * INT=1), b u8, b0 u8, b1 u8 (BF16=0, FP16=1, FP32=2), B0 u16, B1 u16, rows i32, cols i32, fp32 scale offset,
 * payload length i32, payload, CRC-32 (i32) of everything before it.
 */
public final class PackedMatrix {
    private static final int MAGIC = 0x4D505143; // bytes "CQPM"
    private static final int VERSION = 1;
    private static final int HEADER_BYTES = 4 + 1 + 1 + 3 + 2 + 2 + 4 + 4 + 4 + 4;
    private static final int CHECKSUM_BYTES = 4;
    /** Weight codes are held in a byte[] of numel during encode/decode, so numel must fit an array. */
    static final long MAX_NUMEL = Integer.MAX_VALUE - 16;

    private final int rows;
    private final int cols;
    private final QuantConfig config;
    private final QuantizerKind kind;
    private final float scaleOffset;
    private final byte[] payload;

    private PackedMatrix(
            int rows, int cols, QuantConfig config, QuantizerKind kind, float scaleOffset, byte[] payload) {
        this.rows = rows;
        this.cols = cols;
        this.config = config;
        this.kind = kind;
        this.scaleOffset = scaleOffset;
        this.payload = payload;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public QuantConfig config() {
        return config;
    }

    public QuantizerKind kind() {
        return kind;
    }

    /** The matrix-wide minimum of the first-level statistic, stored in fp32 in the header. */
    public float scaleOffset() {
        return scaleOffset;
    }

    /** The dequantized weights; bit-for-bit equal to {@link Quantizer#fakeQuantize} of the source weights. */
    public float[] dequantize() {
        return Quantizer.decode(unpack());
    }

    /** Stored bits of weights and scales (excluding the header and the final byte padding). */
    public long payloadBits() {
        return payloadBits(rows, cols, config, kind);
    }

    /**
     * Exact payload bits of a rows x cols matrix: numel*b + [INT: blocks*b] + blocks*b0 + groups*bits(b1),
     * with blocks = ceil(numel/B0), groups = ceil(blocks/B1).
     */
    public static long payloadBits(int rows, int cols, QuantConfig c, QuantizerKind kind) {
        long numel = (long) rows * cols;
        long blocks = (numel + c.B0() - 1) / c.B0();
        long groups = (blocks + c.B1() - 1) / c.B1();
        long zeroPointBits = kind == QuantizerKind.INT ? blocks * c.b() : 0;
        return numel * c.b() + zeroPointBits + blocks * c.b0() + groups * c.b1().bits();
    }

    static PackedMatrix pack(BlockCodes k) {
        QuantConfig c = k.config();
        BitWriter out = new BitWriter(payloadBits(k.rows(), k.cols(), c, k.kind()));
        for (byte q : k.weightCodes()) out.write(q & 0xFF, c.b());
        for (byte z : k.zeroPoints()) out.write(z & 0xFF, c.b());
        for (byte s : k.scaleCodes()) out.write(s & 0xFF, c.b0());
        for (int s1 : k.secondLevelScales()) out.write(s1, c.b1().bits());
        return new PackedMatrix(k.rows(), k.cols(), c, k.kind(), k.scaleOffset(), out.bytes());
    }

    private BlockCodes unpack() {
        long numel = (long) rows * cols;
        int blocks = BlockCodes.blockCount(numel, config);
        int groups = BlockCodes.groupCount(blocks, config);
        BitReader in = new BitReader(payload, 0, payload.length);
        byte[] weights = new byte[(int) numel];
        for (int i = 0; i < weights.length; i++) weights[i] = (byte) in.read(config.b());
        byte[] zeroPoints = new byte[kind == QuantizerKind.INT ? blocks : 0];
        for (int i = 0; i < zeroPoints.length; i++) zeroPoints[i] = (byte) in.read(config.b());
        byte[] scaleCodes = new byte[blocks];
        for (int i = 0; i < blocks; i++) scaleCodes[i] = (byte) in.read(config.b0());
        int[] secondLevel = new int[groups];
        for (int g = 0; g < groups; g++) {
            secondLevel[g] = in.read(config.b1().bits());
            float s1 = config.b1().decode(secondLevel[g]);
            if (!(Float.isFinite(s1) && s1 >= 0f)) {
                throw new IllegalArgumentException("corrupt packed matrix: second-level scale " + g + " is " + s1);
            }
        }
        long used = in.position();
        int tail = (int) ((long) payload.length * 8 - used);
        if (tail > 0 && in.read(tail) != 0) {
            throw new IllegalArgumentException("corrupt packed matrix: non-zero padding bits after the payload");
        }
        return new BlockCodes(rows, cols, config, kind, scaleOffset, secondLevel, scaleCodes, zeroPoints, weights);
    }

    /** The serialized form described in the class comment. */
    public byte[] toBytes() {
        ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES + payload.length + CHECKSUM_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(MAGIC)
                .put((byte) VERSION)
                .put((byte) kind.ordinal())
                .put((byte) config.b())
                .put((byte) config.b0())
                .put((byte) config.b1().ordinal())
                .putShort((short) config.B0())
                .putShort((short) config.B1())
                .putInt(rows)
                .putInt(cols)
                .putFloat(scaleOffset)
                .putInt(payload.length)
                .put(payload);
        CRC32 crc = new CRC32();
        crc.update(buf.array(), 0, buf.position());
        buf.putInt((int) crc.getValue());
        return buf.array();
    }

    /** Parses and fully validates {@link #toBytes()} output; any corruption or truncation is an IllegalArgumentException. */
    public static PackedMatrix fromBytes(byte[] bytes) {
        if (bytes == null) throw new IllegalArgumentException("packed matrix bytes are null");
        if (bytes.length < HEADER_BYTES + CHECKSUM_BYTES) {
            throw new IllegalArgumentException("packed matrix truncated: " + bytes.length
                    + " bytes, header alone needs " + (HEADER_BYTES + CHECKSUM_BYTES));
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.getInt() != MAGIC) throw new IllegalArgumentException("not a packed matrix: bad magic");
        int version = buf.get() & 0xFF;
        if (version != VERSION) throw new IllegalArgumentException("unsupported packed matrix version " + version);
        int kindOrdinal = buf.get() & 0xFF;
        int b = buf.get() & 0xFF;
        int b0 = buf.get() & 0xFF;
        int b1Ordinal = buf.get() & 0xFF;
        int blockSize = buf.getShort() & 0xFFFF;
        int groupSize = buf.getShort() & 0xFFFF;
        int rows = buf.getInt();
        int cols = buf.getInt();
        float offset = buf.getFloat();
        int payloadLength = buf.getInt();
        if (payloadLength < 0 || payloadLength != bytes.length - HEADER_BYTES - CHECKSUM_BYTES) {
            throw new IllegalArgumentException("packed matrix truncated or padded: payload length field "
                    + payloadLength + " but " + (bytes.length - HEADER_BYTES - CHECKSUM_BYTES) + " bytes present");
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - CHECKSUM_BYTES);
        int stored = ByteBuffer.wrap(bytes, bytes.length - CHECKSUM_BYTES, CHECKSUM_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN)
                .getInt();
        if (stored != (int) crc.getValue())
            throw new IllegalArgumentException("packed matrix corrupt: checksum mismatch");

        if (kindOrdinal >= QuantizerKind.values().length) {
            throw new IllegalArgumentException("packed matrix: unknown quantizer id " + kindOrdinal);
        }
        if (b1Ordinal >= ScaleType.values().length) {
            throw new IllegalArgumentException("packed matrix: unknown scale type id " + b1Ordinal);
        }
        QuantConfig config;
        try {
            config = new QuantConfig(b, b0, ScaleType.values()[b1Ordinal], blockSize, groupSize);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("packed matrix: invalid configuration: " + e.getMessage(), e);
        }
        if (rows <= 0 || cols <= 0 || (long) rows * cols > MAX_NUMEL) {
            throw new IllegalArgumentException("packed matrix: invalid shape " + rows + "x" + cols);
        }
        if (!(Float.isFinite(offset) && offset >= 0f)) {
            throw new IllegalArgumentException("packed matrix: invalid scale offset " + offset);
        }
        QuantizerKind kind = QuantizerKind.values()[kindOrdinal];
        long expected = (payloadBits(rows, cols, config, kind) + 7) / 8;
        if (payloadLength != expected) {
            throw new IllegalArgumentException("packed matrix: payload is " + payloadLength + " bytes, shape and "
                    + "configuration need " + expected);
        }
        byte[] payload = new byte[payloadLength];
        buf.get(payload);
        PackedMatrix m = new PackedMatrix(rows, cols, config, kind, offset, payload);
        m.unpack(); // validates the scales and padding bits
        return m;
    }
}
