package ai.coalora.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.quant.QuantConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SortedSet;
import org.junit.jupiter.api.Test;

class BitSegmentsTest {
    private final BitSegments paper = BitSegments.paper();

    @Test
    void boundariesAndOutOfRangeValues() {
        assertEquals(0.125, paper.width(), 1e-15);
        assertEquals(0, paper.segmentOf(2.25));
        assertEquals(0, paper.segmentOf(2.374));
        assertEquals(1, paper.segmentOf(2.375));
        assertEquals(34, paper.segmentOf(6.5)); // the reference code stopped here
        assertEquals(39, paper.segmentOf(7.2));
        assertEquals(39, paper.segmentOf(7.25));
        assertEquals(0, paper.segmentOf(2.03)); // below the range: first segment, not dropped
        assertEquals(39, paper.segmentOf(8.63)); // above the range: last segment, not dropped
        assertThrows(IllegalArgumentException.class, () -> paper.segmentOf(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new BitSegments(0, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new BitSegments(4, 3, 3));
    }

    @Test
    void selectKeepsEachSegmentsFrontAndCoverage() {
        SyntheticObjective objective = SyntheticObjective.small(6);
        Random r = new Random(3);
        List<Evaluated> points = new ArrayList<>();
        for (int i = 0; i < 3000; i++) points.add(objective.evaluate(objective.mixed(r)));
        for (QuantConfig option : QuantConfig.all()) points.add(objective.evaluate(objective.uniform(option)));

        List<Evaluated> selected = paper.select(points);
        assertTrue(selected.size() < points.size());
        assertEquals(paper.coverage(points), paper.coverage(selected));
        for (Evaluated s : selected) { // non-dominated within its own segment
            int seg = paper.segmentOf(s.averageBits());
            for (Evaluated o : points) {
                if (paper.segmentOf(o.averageBits()) == seg)
                    assertTrue(!o.objectives().dominates(s.objectives()));
            }
        }
        // Mixed configurations span 2.03..8.63 bits: every segment of 2.25..7.25 is covered, above 6.5 included.
        SortedSet<Integer> covered = paper.coverage(selected);
        for (int s = 0; s < paper.count(); s++) assertTrue(covered.contains(s), "segment " + s + " uncovered");
        assertTrue(selected.stream().anyMatch(e -> e.averageBits() > 7.25));
    }
}
