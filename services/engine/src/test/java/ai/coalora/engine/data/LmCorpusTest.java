package ai.coalora.engine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Real data: fetched by scripts/fetch-data.sh (the engine build's process-test-resources step). */
class LmCorpusTest {

    @Test
    void missingDataNamesTheFetchScript() {
        String old = System.getProperty("coalora.cache");
        System.setProperty("coalora.cache", "/nonexistent/coalora-cache");
        try {
            assertFalse(LmCorpus.isFetched());
            IllegalStateException e = assertThrows(IllegalStateException.class, LmCorpus::load);
            assertTrue(e.getMessage().contains("scripts/fetch-data.sh"), e.getMessage());
            assertTrue(e.getMessage().contains("moby-dick-0.2.3"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty("coalora.cache");
            else System.setProperty("coalora.cache", old);
        }
    }

    void needsData() {
        assumeTrue(
                LmCorpus.isFetched(), "LM corpus not in the cache: run scripts/fetch-data.sh (skipping LmCorpusTest)");
    }

    @Test
    void sizesPerSourceAndSplit() {
        needsData();
        LmCorpus c = LmCorpus.load();
        long mobyTrain = count(c.train(), "moby-dick"), mobyHeld = count(c.heldOut(), "moby-dick");
        long sotuTrain = count(c.train(), "sotu"), sotuHeld = count(c.heldOut(), "sotu");
        System.out.printf(
                "LmCorpus: moby-dick %d train / %d held-out, sotu %d / %d; %.2f MB train, %.2f MB held-out; sha256 %s%n",
                mobyTrain, mobyHeld, sotuTrain, sotuHeld, mb(c.train()), mb(c.heldOut()), c.sourceSha256());
        // 138 Moby-Dick sections (etymology, extracts, 135 chapters, epilogue), 233 addresses 1790-2021
        assertEquals(125, mobyTrain);
        assertEquals(13, mobyHeld);
        assertEquals(210, sotuTrain);
        assertEquals(23, sotuHeld);
        assertEquals(64, c.sourceSha256().length());
        assertTrue(c.train().stream().noneMatch(d -> d.text().isBlank()));
        Set<String> trainIds = new HashSet<>();
        c.train().forEach(d -> trainIds.add(d.source() + "/" + d.id()));
        assertTrue(
                c.heldOut().stream().noneMatch(d -> trainIds.contains(d.source() + "/" + d.id())),
                "split is by document");
        assertTrue(c.train().stream().anyMatch(d -> d.text().startsWith("Loomings.\n\nCall me Ishmael."))
                || c.heldOut().stream().anyMatch(d -> d.text().startsWith("Loomings.\n\nCall me Ishmael.")));
    }

    @Test
    void splitIsDeterministicAndSeeded() {
        needsData();
        LmCorpus a = LmCorpus.load(), b = LmCorpus.load();
        assertEquals(ids(a.train()), ids(b.train()));
        assertEquals(ids(a.heldOut()), ids(b.heldOut()));
        assertEquals(a.sourceSha256(), b.sourceSha256());
        LmCorpus other = LmCorpus.load(7);
        assertNotEquals(ids(a.heldOut()), ids(other.heldOut()));
        assertEquals(a.heldOut().size(), other.heldOut().size());
        assertEquals(a.sourceSha256(), other.sourceSha256());
    }

    private static long count(List<LmCorpus.Document> docs, String source) {
        return docs.stream().filter(d -> d.source().equals(source)).count();
    }

    private static List<String> ids(List<LmCorpus.Document> docs) {
        return docs.stream().map(d -> d.source() + "/" + d.id()).toList();
    }

    private static double mb(List<LmCorpus.Document> docs) {
        return docs.stream()
                        .mapToLong(d -> d.text().getBytes(StandardCharsets.UTF_8).length)
                        .sum()
                / 1e6;
    }
}
