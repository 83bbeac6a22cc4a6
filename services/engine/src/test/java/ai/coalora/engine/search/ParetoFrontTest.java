package ai.coalora.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ParetoFrontTest {
    private static Objectives p(double loss, double bits) {
        return new Objectives(loss, bits);
    }

    @Test
    void dominanceNeedsOneStrictImprovement() {
        assertTrue(ParetoFront.dominates(p(1, 3), p(2, 3)));
        assertTrue(ParetoFront.dominates(p(1, 3), p(1, 4)));
        assertTrue(ParetoFront.dominates(p(1, 3), p(2, 4)));
        assertFalse(ParetoFront.dominates(p(1, 3), p(1, 3)));
        assertFalse(ParetoFront.dominates(p(1, 4), p(2, 3)));
    }

    @Test
    void keepsNonDominatedSortedByBits() {
        List<Objectives> pts = List.of(p(3, 2), p(1, 5), p(2, 3), p(2.5, 3.5), p(1, 6), p(4, 2));
        assertEquals(List.of(p(3, 2), p(2, 3), p(1, 5)), ParetoFront.of(pts));
    }

    @Test
    void equalPointsAreAllKept() {
        assertEquals(List.of(p(1, 2), p(1, 2)), ParetoFront.of(List.of(p(1, 2), p(1, 2), p(1, 3))));
    }

    @Test
    void agreesWithBruteForceOnRandomPoints() {
        Random r = new Random(1);
        for (int trial = 0; trial < 50; trial++) {
            List<Objectives> pts = new ArrayList<>();
            for (int i = 0; i < 40; i++) pts.add(p(r.nextInt(10), r.nextInt(10))); // many ties
            List<Objectives> expected = new ArrayList<>();
            for (Objectives a : pts) if (pts.stream().noneMatch(b -> b.dominates(a))) expected.add(a);
            List<Objectives> got = ParetoFront.of(pts);
            assertEquals(expected.size(), got.size());
            assertTrue(got.containsAll(expected) && expected.containsAll(got));
        }
    }
}
