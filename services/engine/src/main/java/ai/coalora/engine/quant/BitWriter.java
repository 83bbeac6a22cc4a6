package ai.coalora.engine.quant;

/** Packs unsigned fields of 1..32 bits into bytes, little-endian: field bits fill each byte from its lowest bit. */
final class BitWriter {
    private final byte[] buffer;
    private long position;

    BitWriter(long totalBits) {
        long bytes = (totalBits + 7) / 8;
        if (bytes > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("too many bits: " + totalBits);
        buffer = new byte[(int) bytes];
    }

    void write(int value, int width) {
        if (width < 1 || width > 32) throw new IllegalArgumentException("field width must be 1..32, got " + width);
        long v = value & 0xFFFFFFFFL;
        if (width < 32 && (v >>> width) != 0) {
            throw new IllegalArgumentException("value " + v + " does not fit in " + width + " bits");
        }
        if (position + width > (long) buffer.length * 8) throw new IllegalStateException("bit buffer overflow");
        int remaining = width;
        while (remaining > 0) {
            int index = (int) (position >>> 3);
            int offset = (int) (position & 7);
            int take = Math.min(8 - offset, remaining);
            buffer[index] |= (byte) ((v & ((1 << take) - 1)) << offset);
            v >>>= take;
            position += take;
            remaining -= take;
        }
    }

    long position() {
        return position;
    }

    byte[] bytes() {
        return buffer;
    }
}
