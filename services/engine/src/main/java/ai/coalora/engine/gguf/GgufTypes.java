package ai.coalora.engine.gguf;

import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Which GGUF type each quantized matrix of a configuration becomes: one {@link GgufTypeMapping} for every matrix, or
 * ({@link Cheapest}) per matrix the cheapest of the mappings' types a runtime declares.
 */
public interface GgufTypes {
    /** The mixed choice's name, as the planner's assignments call it. */
    String MIXED = "MIXED";

    /** The type for {@code b} bits and rows of {@code rowLength} weights. */
    GgufType typeFor(int b, long rowLength);

    /** K_QUANTS, LEGACY or MIXED. */
    String name();

    /** What tells two choices apart (the packages of a configuration are made once per key). */
    default String key() {
        return name();
    }

    /** The type of one matrix (rows = out, cols = in; the ggml row is {@code cols}). */
    default GgufType typeFor(MatrixSpec matrix, QuantConfig config) {
        return typeFor(config.b(), matrix.cols());
    }

    /** Each matrix's GGUF type, in the configuration's order. */
    default Map<String, GgufType> plan(ModelQuantConfig config) {
        Map<String, GgufType> out = new LinkedHashMap<>();
        for (ModelQuantConfig.Entry e : config.matrices()) out.put(e.matrix().name(), typeFor(e.matrix(), e.config()));
        return out;
    }

    /**
     * Numel-weighted mean bits per weight the quantized matrices really cost as GGUF tensors (exact: computed in units
     * of 1/{@link QuantConfig#BIT_UNITS_PER_BIT} bit). Comparable with {@link ModelQuantConfig#averageBits()}, which
     * counts the same matrices.
     */
    default double bitsPerWeight(ModelQuantConfig config) {
        long units = 0, numel = 0;
        for (ModelQuantConfig.Entry e : config.matrices()) {
            units += e.matrix().numel() * typeFor(e.matrix(), e.config()).bitUnitsPerWeight();
            numel += e.matrix().numel();
        }
        return units / ((double) numel * QuantConfig.BIT_UNITS_PER_BIT);
    }

    /** Exact bytes of the quantized matrices' tensor data (alignment padding excluded). */
    default long bytes(ModelQuantConfig config) {
        long bytes = 0;
        for (ModelQuantConfig.Entry e : config.matrices())
            bytes += typeFor(e.matrix(), e.config()).byteSize(e.matrix().numel());
        return bytes;
    }

    /** Per matrix, the cheapest of the mappings' types among {@code declared} (names as ggml spells them; others ignored). */
    static Cheapest cheapestOf(Collection<String> declared) {
        Set<GgufType> types = EnumSet.noneOf(GgufType.class);
        for (String name : declared) {
            for (GgufType t : GgufType.values()) if (t.name().equalsIgnoreCase(name)) types.add(t);
        }
        return new Cheapest(types);
    }

    /**
     * The planner's rule for a runtime that declares its types: each matrix takes, of the types the mappings give it
     * ({@link GgufTypeMapping#typeFor(int, long)}, fallbacks applied), the declared one with the fewest bytes (ties: the
     * first mapping, K_QUANTS). A matrix none of whose types is declared is an IllegalArgumentException naming them.
     * Given only the types a plan chose, it chooses the same again: every cheaper candidate was left out of the plan.
     */
    record Cheapest(Set<GgufType> declared) implements GgufTypes {
        public Cheapest {
            declared = Set.copyOf(declared);
        }

        @Override
        public GgufType typeFor(int b, long rowLength) {
            GgufType best = null;
            List<GgufType> candidates = new ArrayList<>();
            for (GgufTypeMapping m : GgufTypeMapping.values()) {
                GgufType t = m.typeFor(b, rowLength);
                candidates.add(t);
                if (declared.contains(t) && (best == null || t.bitUnitsPerWeight() < best.bitUnitsPerWeight()))
                    best = t;
            }
            if (best == null)
                throw new IllegalArgumentException(b + "-bit rows of " + rowLength + " weights need one of "
                        + candidates + ", none of which is among the declared " + sorted());
            return best;
        }

        @Override
        public String name() {
            return MIXED;
        }

        /** MIXED with its types: another declared set may choose other types for the same configuration. */
        @Override
        public String key() {
            return MIXED + sorted();
        }

        private List<String> sorted() {
            return declared.stream()
                    .map(t -> t.name().toUpperCase(Locale.ROOT))
                    .sorted(Comparator.naturalOrder())
                    .toList();
        }
    }
}
