package ai.coalora.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Sha256Test {
    private static final String EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private static final String ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    @Test
    void knownVectorsInLowercaseHex() {
        assertEquals(EMPTY, Sha256.of(new byte[0]));
        assertEquals(ABC, Sha256.of("abc".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(ABC, Sha256.of("abc"));
        assertEquals(Sha256.of("naïve ✓".getBytes(StandardCharsets.UTF_8)), Sha256.of("naïve ✓"));
    }

    @Test
    void incrementalEqualsWholeAndStartsOverAfterHex() {
        Sha256 sha = new Sha256();
        assertEquals(
                ABC,
                sha.update((byte) 'a')
                        .update("b")
                        .update(new byte[] {'x', 'c', 'y'}, 1, 1)
                        .hex());
        assertEquals(EMPTY, sha.hex());
    }

    @Test
    void filesAndStreamsAreStreamedToTheSameHash(@TempDir Path dir) throws Exception {
        byte[] big = new byte[200_000]; // several read buffers
        new Random(1).nextBytes(big);
        Path a = Files.write(dir.resolve("a"), big),
                b = Files.write(dir.resolve("b"), "abc".getBytes(StandardCharsets.UTF_8));
        assertEquals(Sha256.of(big), Sha256.of(a));
        assertEquals(Sha256.of(big), Sha256.of(new ByteArrayInputStream(big)));
        assertEquals(ABC, Sha256.of(b));
        byte[] both = new byte[big.length + 3];
        System.arraycopy(big, 0, both, 0, big.length);
        System.arraycopy("abc".getBytes(StandardCharsets.UTF_8), 0, both, big.length, 3);
        assertEquals(Sha256.of(both), Sha256.of(List.of(a, b)));
        assertEquals(EMPTY, Sha256.of(List.<Path>of()));
    }

    @Test
    void validOnlyFor64LowercaseHexDigits() {
        assertTrue(Sha256.isValid(ABC));
        assertFalse(Sha256.isValid(null));
        assertFalse(Sha256.isValid(ABC.toUpperCase()));
        assertFalse(Sha256.isValid(ABC.substring(1)));
        assertFalse(Sha256.isValid(ABC + "0"));
        assertFalse(Sha256.isValid(ABC.substring(1) + "g"));
    }
}
