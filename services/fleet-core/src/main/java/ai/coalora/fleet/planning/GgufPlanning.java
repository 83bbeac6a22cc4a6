package ai.coalora.fleet.planning;

import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.GgufChoice;
import ai.coalora.fleet.events.Payloads.GgufGroup;
import ai.coalora.fleet.events.Payloads.GgufTensors;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * How a front configuration runs on a GGUF runtime that declares the tensor types it executes
 * ({@code ggufTypes} in the device's capabilities).
 *
 * <p>The rule, per group of matrices (one weight bit-width, rows that admit the same types): of the types the
 * engine's mappings give the group ({@code K_QUANTS}: 2→Q2_K, 3→Q3_K, 4→Q4_K, 8→Q8_0; {@code LEGACY}: 2,3,4→Q4_0,
 * 8→Q8_0; both with the block-size fallbacks to Q4_0/Q8_0/F16 already applied by the registry), take the one the
 * device declares with the fewest bytes (ties: the first listed, K_QUANTS). A group whose types the device lists
 * none of makes the configuration infeasible in gguf, and the reason names the types it would need. Nothing is
 * mapped to a type outside the mappings (no silent upgrade to Q8_0, never fewer bits than the mapping's type),
 * so the device runs what the accuracy was predicted for as closely as GGUF allows.
 *
 * <p>The weights then cost the chosen types' real bytes (scales included) plus the full-precision tensors, which
 * replaces the packed layout's weight bytes in the memory budget. The chosen mapping is {@code K_QUANTS} or
 * {@code LEGACY} when every group got that mapping's type, else {@code MIXED}.
 *
 * <p>Pure logic: the per-type bytes come with the front (computed by the registry with the engine's
 * {@code GgufTypeMapping}), so this module needs no engine.
 */
public final class GgufPlanning {
    /** The runtime format token of GGUF runtimes. */
    public static final String FORMAT = "gguf";

    public static final String K_QUANTS = "K_QUANTS", LEGACY = "LEGACY", MIXED = "MIXED";

    private GgufPlanning() {}

    /** A configuration as GGUF on a device: the mapping, the types used (sorted), real bits per quantized weight, weight bytes. */
    public record GgufPlan(String mapping, List<String> types, double bitsPerWeight, long weightBytes) {}

    /**
     * The outcome for one configuration: a plan, or (plan null) what is missing, e.g. "Q2_K or Q4_0 (2-bit)", or
     * "GGUF type information" when the front predates it.
     */
    public record Result(GgufPlan plan, List<String> missing) {
        public boolean mapped() {
            return plan != null;
        }
    }

    /** The device's declared types, upper-case (GGUF type names are case-insensitive; ggml prints "q4_K"). */
    public static Set<String> declared(List<String> ggufTypes) {
        Set<String> out = new TreeSet<>();
        for (String t : ggufTypes) out.add(t.toUpperCase(Locale.ROOT));
        return out;
    }

    /** The configuration mapped onto the declared types, by the rule above. */
    public static Result plan(FrontEntry entry, Set<String> declared) {
        GgufTensors gguf = entry.gguf();
        if (gguf == null) return new Result(null, List.of("GGUF type information (the front predates it)"));
        long bytes = gguf.denseBytes(), weights = 0, quantBytes = 0;
        boolean allK = true, allLegacy = true;
        Set<String> types = new TreeSet<>();
        List<String> missing = new ArrayList<>();
        for (GgufGroup g : gguf.groups()) {
            GgufChoice best = null;
            for (GgufChoice c : g.choices()) {
                if (declared.contains(c.type().toUpperCase(Locale.ROOT)) && (best == null || c.bytes() < best.bytes()))
                    best = c;
            }
            if (best == null) {
                missing.add(alternatives(g));
                continue;
            }
            types.add(best.type().toUpperCase(Locale.ROOT));
            bytes += best.bytes();
            quantBytes += best.bytes();
            weights += g.weights();
            allK &= typeOf(g, K_QUANTS, best.type());
            allLegacy &= typeOf(g, LEGACY, best.type());
        }
        if (!missing.isEmpty()) return new Result(null, List.copyOf(missing));
        String mapping = allK ? K_QUANTS : allLegacy ? LEGACY : MIXED;
        double bpw = weights == 0 ? 0 : 8.0 * quantBytes / weights;
        return new Result(new GgufPlan(mapping, List.copyOf(types), bpw, bytes), List.of());
    }

    /** Whether {@code mapping} maps the group to {@code type} (a group without that mapping: no). */
    private static boolean typeOf(GgufGroup g, String mapping, String type) {
        for (GgufChoice c : g.choices())
            if (c.mapping().equals(mapping)) return c.type().equalsIgnoreCase(type);
        return false;
    }

    /** "Q2_K or Q4_0 (2-bit)": the types any one of which would let the group run. */
    private static String alternatives(GgufGroup g) {
        Set<String> alt = new LinkedHashSet<>();
        for (GgufChoice c : g.choices()) alt.add(c.type().toUpperCase(Locale.ROOT));
        return String.join(" or ", alt) + " (" + g.weightBits() + "-bit)";
    }
}
