package ai.coalora.engine.search;

import ai.coalora.engine.quant.ModelQuantConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every configuration evaluated so far, one entry per configuration. Re-evaluating a configuration replaces its
 * loss: the adapted model changes between epochs, so only the latest measurement describes it.
 */
public final class ParetoArchive {
    private final Map<ModelQuantConfig, Evaluated> byConfig = new LinkedHashMap<>();

    public ParetoArchive() {}

    public ParetoArchive(Collection<Evaluated> points) {
        addAll(points);
    }

    public void add(Evaluated point) {
        if (point == null) throw new IllegalArgumentException("point must not be null");
        byConfig.put(point.config(), point);
    }

    public void addAll(Collection<Evaluated> points) {
        for (Evaluated p : points) add(p);
    }

    public boolean contains(ModelQuantConfig config) {
        return byConfig.containsKey(config);
    }

    public int size() {
        return byConfig.size();
    }

    /** All points, in order of first evaluation. */
    public List<Evaluated> points() {
        return List.copyOf(byConfig.values());
    }

    public List<Objectives> objectives() {
        List<Objectives> out = new ArrayList<>(byConfig.size());
        for (Evaluated e : byConfig.values()) out.add(e.objectives());
        return out;
    }

    /** Non-dominated points, sorted by bits ascending. */
    public List<Evaluated> front() {
        return ParetoFront.ofEvaluated(byConfig.values());
    }

    public double hypervolume(Objectives reference) {
        return Hypervolume.of(objectives(), reference);
    }

    /** Each bit segment's non-dominated points: the next epoch's training set. */
    public List<Evaluated> trainingSet(BitSegments segments) {
        return segments.select(byConfig.values());
    }
}
