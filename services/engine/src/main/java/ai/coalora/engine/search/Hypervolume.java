package ai.coalora.engine.search;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Exact 2-D hypervolume (minimisation): the area dominated by a point set and bounded by a reference point.
 * It is the search's measure of progress, so the reference must lie strictly beyond every observed point
 * (a reference at or inside the data makes improvements invisible and the search inert).
 */
public final class Hypervolume {
    /** Added to the margin so that a zero range still yields a reference strictly beyond the data. */
    static final double EPSILON = 1e-9;

    private Hypervolume() {}

    /** Area dominated by {@code points} within the box below {@code reference}; points outside the box add nothing. */
    public static double of(Collection<Objectives> points, Objectives reference) {
        if (reference == null) throw new IllegalArgumentException("reference must not be null");
        List<Objectives> inside = new ArrayList<>();
        for (Objectives p : points) {
            if (p.loss() < reference.loss() && p.bits() < reference.bits()) inside.add(p);
        }
        // The front sorted by bits ascending has loss descending: a staircase of rectangles.
        List<Objectives> front = ParetoFront.of(inside);
        double area = 0;
        for (int i = 0; i < front.size(); i++) {
            Objectives p = front.get(i);
            double nextBits = i + 1 < front.size() ? front.get(i + 1).bits() : reference.bits();
            area += (nextBits - p.bits()) * (reference.loss() - p.loss());
        }
        return area;
    }

    /**
     * A reference point strictly worse than the worst observed value on both objectives:
     * max + margin * range + epsilon * (1 + |max|) per objective.
     */
    public static Objectives referencePoint(Collection<Objectives> points, double margin) {
        if (!(margin >= 0) || !Double.isFinite(margin)) {
            throw new IllegalArgumentException("margin must be finite and >= 0, got " + margin);
        }
        if (points.isEmpty()) throw new IllegalArgumentException("need at least one point for a reference");
        double minLoss = Double.POSITIVE_INFINITY, maxLoss = Double.NEGATIVE_INFINITY;
        double minBits = Double.POSITIVE_INFINITY, maxBits = Double.NEGATIVE_INFINITY;
        for (Objectives p : points) { // Objectives are finite by construction
            minLoss = Math.min(minLoss, p.loss());
            maxLoss = Math.max(maxLoss, p.loss());
            minBits = Math.min(minBits, p.bits());
            maxBits = Math.max(maxBits, p.bits());
        }
        return new Objectives(beyond(minLoss, maxLoss, margin), beyond(minBits, maxBits, margin));
    }

    private static double beyond(double min, double max, double margin) {
        return max + margin * (max - min) + EPSILON * (1 + Math.abs(max));
    }
}
