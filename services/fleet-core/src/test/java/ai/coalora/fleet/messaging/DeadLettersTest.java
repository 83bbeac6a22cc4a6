package ai.coalora.fleet.messaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class DeadLettersTest {
    @Test
    void reasonsQuotingControlCharactersBecomeStorable() {
        assertEquals(
                "not JSON: Illegal character \uFFFD at 3\tline\n",
                DeadLetters.printable("not JSON: Illegal character \u0000 at 3\tline\n"));
        assertEquals("\uFFFD\uFFFDx", DeadLetters.printable("\u0001\u007fx"));
        String clean = "schema ai.coalora.device.capabilities: memoryBytes: string found";
        assertSame(clean, DeadLetters.printable(clean), "clean text is not copied");
        assertEquals("", DeadLetters.printable(null));
    }
}
