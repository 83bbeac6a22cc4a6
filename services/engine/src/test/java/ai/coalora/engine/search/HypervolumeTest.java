package ai.coalora.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class HypervolumeTest {
    private static Objectives p(double loss, double bits) {
        return new Objectives(loss, bits);
    }

    @Test
    void singlePointIsARectangle() {
        assertEquals(6.0, Hypervolume.of(List.of(p(1, 2)), p(4, 4)), 1e-12);
    }

    @Test
    void staircaseByHand() {
        // Reference (10, 10); points (loss, bits) = (6, 2), (3, 5), (1, 8):
        // bits 2..5 at height 10-6=4 -> 12; bits 5..8 at height 7 -> 21; bits 8..10 at height 9 -> 18. Total 51.
        assertEquals(51.0, Hypervolume.of(List.of(p(3, 5), p(1, 8), p(6, 2)), p(10, 10)), 1e-12);
    }

    @Test
    void dominatedAndOutsidePointsAddNothing() {
        List<Objectives> base = List.of(p(6, 2), p(3, 5), p(1, 8));
        double hv = Hypervolume.of(base, p(10, 10));
        List<Objectives> more = List.of(p(6, 2), p(3, 5), p(1, 8), p(7, 6), p(0, 10), p(11, 1), p(6, 2));
        assertEquals(hv, Hypervolume.of(more, p(10, 10)), 1e-12);
        assertEquals(0.0, Hypervolume.of(List.of(), p(10, 10)));
    }

    @Test
    void referencePointIsStrictlyWorseThanEveryPoint() {
        List<Objectives> pts = List.of(p(1, 2.25), p(3, 7.5), p(2, 4));
        Objectives ref = Hypervolume.referencePoint(pts, 0.1);
        assertEquals(3.2, ref.loss(), 1e-6);
        assertEquals(8.025, ref.bits(), 1e-6);
        for (Objectives q : pts) assertTrue(q.loss() < ref.loss() && q.bits() < ref.bits());
        // Every point, even the worst on both, contributes a positive area.
        assertTrue(Hypervolume.of(List.of(p(3, 7.5)), Hypervolume.referencePoint(List.of(p(3, 7.5)), 0.1)) > 0);
        Objectives single = Hypervolume.referencePoint(List.of(p(-2, 0)), 0.1); // zero range, negative loss
        assertTrue(single.loss() > -2 && single.bits() > 0);
    }

    @Test
    void rejectsNonFiniteInputs() {
        assertThrows(IllegalArgumentException.class, () -> p(Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> p(1, Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> Hypervolume.referencePoint(List.of(p(1, 1)), Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Hypervolume.referencePoint(List.of(), 0.1));
    }
}
