package ai.coalora.engine.search;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * The non-dominated subset of a set of points (both objectives minimised): the configurations worth training on,
 * since any dominated one is beaten by another at no more bits.
 */
public final class ParetoFront {
    private ParetoFront() {}

    public static boolean dominates(Objectives a, Objectives b) {
        return a.dominates(b);
    }

    /** Non-dominated points, sorted by bits ascending (so loss descending). Equal points are all kept. */
    public static List<Objectives> of(Collection<Objectives> points) {
        return of(points, p -> p);
    }

    /** Non-dominated evaluated configurations, sorted by bits ascending. */
    public static List<Evaluated> ofEvaluated(Collection<Evaluated> points) {
        return of(points, Evaluated::objectives);
    }

    /**
     * Sweep in order of bits (then loss): a point survives iff its loss is below that of every earlier point,
     * or it equals the best earlier point exactly. O(n log n).
     */
    public static <T> List<T> of(Collection<T> items, Function<? super T, Objectives> objectives) {
        List<T> sorted = new ArrayList<>(items);
        Comparator<T> byBits =
                Comparator.comparingDouble(t -> objectives.apply(t).bits());
        sorted.sort(byBits.thenComparingDouble(t -> objectives.apply(t).loss()));
        List<T> front = new ArrayList<>();
        Objectives best = null; // the surviving point with the lowest loss so far
        for (T t : sorted) {
            Objectives p = objectives.apply(t);
            if (best == null || p.loss() < best.loss() || p.equals(best)) {
                front.add(t);
                best = p;
            }
        }
        return front;
    }
}
