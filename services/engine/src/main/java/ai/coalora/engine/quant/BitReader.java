package ai.coalora.engine.quant;

/** Reads fields written by {@link BitWriter}. */
final class BitReader {
    private final byte[] buffer;
    private final int start;
    private final long limitBits;
    private long position;

    /** Reads {@code length} bytes of {@code buffer} starting at {@code start}. */
    BitReader(byte[] buffer, int start, int length) {
        this.buffer = buffer;
        this.start = start;
        this.limitBits = (long) length * 8;
    }

    int read(int width) {
        if (width < 1 || width > 32) throw new IllegalArgumentException("field width must be 1..32, got " + width);
        if (position + width > limitBits) throw new IllegalArgumentException("bit stream truncated");
        long v = 0;
        int filled = 0;
        while (filled < width) {
            int index = start + (int) (position >>> 3);
            int offset = (int) (position & 7);
            int take = Math.min(8 - offset, width - filled);
            long bits = ((buffer[index] & 0xFF) >>> offset) & ((1 << take) - 1);
            v |= bits << filled;
            filled += take;
            position += take;
        }
        return (int) v;
    }

    long position() {
        return position;
    }
}
