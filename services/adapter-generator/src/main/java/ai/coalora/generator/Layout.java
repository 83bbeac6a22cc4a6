package ai.coalora.generator;

import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.planning.GgufPlanning;

/**
 * The files a device runs a configuration from, as its assignment says: the packed layout of the Java runtime, or GGUF
 * for llama.cpp with the type mapping the planner budgeted (K-quants when the device declared no types). One package
 * is made per (version, configuration, layout); {@link #column()} is its key in the packages table.
 */
record Layout(String runtimeFormat, GgufTypeMapping mapping, String unsupported) {
    static final String PACKED = "coalora-packed";

    static Layout of(Assignment a) {
        if (!GgufPlanning.FORMAT.equals(a.runtimeFormat())) return new Layout(PACKED, null, null);
        String name = a.gguf() == null ? GgufPlanning.K_QUANTS : a.gguf().mapping();
        for (GgufTypeMapping m : GgufTypeMapping.values())
            if (m.name().equals(name)) return new Layout(GgufPlanning.FORMAT, m, null);
        // MIXED: each group in the cheapest declared type; the export writes one mapping's types
        return new Layout(GgufPlanning.FORMAT, null, name);
    }

    String column() {
        return mapping == null && unsupported == null
                ? PACKED
                : runtimeFormat + ":" + (mapping == null ? unsupported : mapping.name());
    }

    /** Why this layout cannot be made of {@code version}, or null: each kind of version ships in its own layout. */
    String cannotServe(VersionCache.Version version) {
        boolean decoder = version instanceof VersionCache.Decoder;
        if (unsupported != null)
            return "GGUF type mapping " + unsupported + " is not exported (only " + GgufPlanning.K_QUANTS + " and "
                    + GgufPlanning.LEGACY + "): declare the types of one of them";
        if (decoder && mapping == null)
            return "version " + version.id() + " is a decoder: it runs on llama.cpp (gguf), not the packed layout";
        if (!decoder && mapping != null)
            return "version " + version.id() + " is an encoder classifier: it ships in the packed layout, not gguf";
        return null;
    }
}
