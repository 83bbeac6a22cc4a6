package ai.coalora.generator;

import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.gguf.GgufTypes;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.planning.GgufPlanning;

/**
 * The files a device runs a configuration from, as its assignment says: the packed layout of the Java runtime, or GGUF
 * for llama.cpp with the types the planner budgeted: one mapping's (K-quants when the device declared no types), or
 * per matrix the cheapest of the types it declared ({@code MIXED}, recomputed from the plan's types, which gives the
 * planner's choice again). One package is made per (version, configuration, layout); {@link #column()} is its key in
 * the packages table.
 */
record Layout(String runtimeFormat, GgufTypes types) {
    static final String PACKED = "coalora-packed";

    static Layout of(Assignment a) {
        if (!GgufPlanning.FORMAT.equals(a.runtimeFormat())) return new Layout(PACKED, null);
        String name = a.gguf() == null ? GgufPlanning.K_QUANTS : a.gguf().mapping();
        for (GgufTypeMapping m : GgufTypeMapping.values())
            if (m.name().equals(name)) return new Layout(GgufPlanning.FORMAT, m);
        if (!GgufPlanning.MIXED.equals(name))
            throw new IllegalArgumentException(
                    "unknown GGUF type mapping " + name + " in assignment " + a.assignmentId());
        return new Layout(GgufPlanning.FORMAT, GgufTypes.cheapestOf(a.gguf().types()));
    }

    String column() {
        return types == null ? PACKED : runtimeFormat + ":" + types.key();
    }

    /**
     * Why this layout cannot be made of {@code config} of {@code version}, or null: each kind of version ships in its own
     * layout, and a mixed choice must have a type for every matrix.
     */
    String cannotServe(VersionCache.Version version, ModelQuantConfig config) {
        boolean decoder = version instanceof VersionCache.Decoder;
        if (decoder && types == null)
            return "version " + version.id() + " is a decoder: it runs on llama.cpp (gguf), not the packed layout";
        if (!decoder && types != null)
            return "version " + version.id() + " is an encoder classifier: it ships in the packed layout, not gguf";
        if (types != null) {
            try {
                types.plan(config);
            } catch (IllegalArgumentException e) {
                return "the assignment's GGUF types cannot hold configuration " + config.configId() + ": "
                        + e.getMessage();
            }
        }
        return null;
    }
}
