package ai.coalora.engine.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits file bytes into lines and decodes each as strict UTF-8, so an invalid byte is reported with
 * its line number instead of silently becoming U+FFFD. Splitting on the byte 0x0A before decoding is
 * safe: that byte never occurs inside a multi-byte UTF-8 sequence.
 */
final class Utf8Lines {
    /** A physical line without its terminator ({@code \n} or {@code \r\n}); {@code number} is 1-based. */
    record Line(long number, String text) {}

    private Utf8Lines() {}

    /** Decodes all lines; an undecodable line is reported and kept (with replacement characters) so parsing can go on. */
    static List<Line> decode(byte[] bytes, Problems problems) {
        CharsetDecoder strict = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        List<Line> lines = new ArrayList<>();
        int start = startAfterBom(bytes);
        long number = 1;
        while (start < bytes.length) {
            int end = indexOf(bytes, (byte) '\n', start);
            int next = end + 1;
            if (end > start && bytes[end - 1] == '\r') end--;
            lines.add(new Line(number, decodeLine(strict, bytes, start, end, number, problems)));
            start = next;
            number++;
        }
        return lines;
    }

    private static String decodeLine(
            CharsetDecoder strict, byte[] bytes, int from, int to, long number, Problems problems) {
        ByteBuffer in = ByteBuffer.wrap(bytes, from, to - from);
        CharBuffer out = CharBuffer.allocate(to - from); // UTF-8 never yields more chars than bytes
        CoderResult result = strict.reset().decode(in, out, true);
        if (!result.isError()) result = strict.flush(out);
        if (result.isError()) {
            problems.add(number, "invalid UTF-8 at byte " + (in.position() - from + 1) + " of the line");
            return new String(bytes, from, to - from, StandardCharsets.UTF_8);
        }
        return out.flip().toString();
    }

    /** Spreadsheet programs often write a byte-order mark; it is not part of the first header name. */
    private static int startAfterBom(byte[] bytes) {
        boolean bom = bytes.length >= 3
                && (bytes[0] & 0xff) == 0xEF
                && (bytes[1] & 0xff) == 0xBB
                && (bytes[2] & 0xff) == 0xBF;
        return bom ? 3 : 0;
    }

    /** Index of {@code b} at or after {@code from}, else {@code bytes.length}. */
    private static int indexOf(byte[] bytes, byte b, int from) {
        for (int i = from; i < bytes.length; i++) if (bytes[i] == b) return i;
        return bytes.length;
    }
}
