package ai.coalora.engine.search;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * U equal segments of average bits over [low, high] (paper: U = 40 over 2.25..7.25). Keeping the non-dominated set
 * of each segment, rather than one global front, keeps every bit budget in the training set: a global front would
 * let a few strong points crowd out whole budget ranges. Points below {@code low} count in the first segment and
 * points above {@code high} in the last, so no configuration is dropped for being out of range.
 */
public record BitSegments(int count, double low, double high) {
    public BitSegments {
        if (count < 1) throw new IllegalArgumentException("need at least one segment, got " + count);
        if (!Double.isFinite(low) || !Double.isFinite(high) || !(low < high)) {
            throw new IllegalArgumentException("segments need finite low < high, got " + low + ", " + high);
        }
    }

    /** The paper's setting: 40 segments over 2.25..7.25 bits. */
    public static BitSegments paper() {
        return new BitSegments(40, 2.25, 7.25);
    }

    public double width() {
        return (high - low) / count;
    }

    /** Segment of an average-bits value, clamped to [0, count - 1]. */
    public int segmentOf(double bits) {
        if (!Double.isFinite(bits)) throw new IllegalArgumentException("bits must be finite, got " + bits);
        int s = (int) Math.floor((bits - low) / width());
        return Math.max(0, Math.min(count - 1, s));
    }

    /** Union over segments of each segment's non-dominated points: the next training set, sorted by bits. */
    public List<Evaluated> select(Collection<Evaluated> points) {
        List<List<Evaluated>> bySegment = new ArrayList<>();
        for (int s = 0; s < count; s++) bySegment.add(new ArrayList<>());
        for (Evaluated e : points) bySegment.get(segmentOf(e.averageBits())).add(e);
        List<Evaluated> out = new ArrayList<>();
        for (List<Evaluated> segment : bySegment) out.addAll(ParetoFront.ofEvaluated(segment));
        out.sort(Comparator.comparingDouble(Evaluated::averageBits));
        return out;
    }

    /** The segments holding at least one point. */
    public SortedSet<Integer> coverage(Collection<Evaluated> points) {
        SortedSet<Integer> covered = new TreeSet<>();
        for (Evaluated e : points) covered.add(segmentOf(e.averageBits()));
        return covered;
    }
}
