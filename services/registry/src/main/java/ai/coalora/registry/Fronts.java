package ai.coalora.registry;

import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.bundle.DevicePackage;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.gguf.GgufDecoderExport;
import ai.coalora.engine.gguf.GgufType;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.GgufChoice;
import ai.coalora.fleet.events.Payloads.GgufGroup;
import ai.coalora.fleet.events.Payloads.GgufTensors;
import ai.coalora.fleet.planning.GgufPlanning;
import ai.coalora.fleet.planning.QualityMeasure;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the planner needs of each configuration of a bundle's front, computed once when the version is registered:
 * its identity, the quality it predicts (in the bundle's measure), its bit-widths and runtime formats, and the bytes a
 * device needs for its weights and adapter, exactly as the engine writes them.
 */
final class Fronts {
    /** The runtime format our packed artifacts are in. */
    static final String PACKED_FORMAT = "coalora-packed";

    private Fronts() {}

    /** An encoder classifier's front: accuracy, shipped packed (bytes of the packed layout) or as GGUF. */
    static List<FrontEntry> ofEncoder(BundleManifest m) {
        BertConfig model = BertConfig.MINILM_L6;
        long denseBytes = 4 * DevicePackage.denseParameters(model); // fp32, as in the dense file
        List<FrontEntry> out = new ArrayList<>();
        for (BundleManifest.FrontPoint p : m.front()) {
            ModelQuantConfig c = p.quantConfig();
            out.add(new FrontEntry(
                    c.configId(),
                    c.averageBits(),
                    QualityMeasure.ACCURACY,
                    p.validationAccuracy(),
                    bitWidths(c),
                    List.of(PACKED_FORMAT),
                    DevicePackage.weightBytes(model, c),
                    DevicePackage.adapterBytes(
                            m.rank(), c, model, m.task().labels().size()),
                    ggufOf(denseBytes, c)));
        }
        return out;
    }

    /**
     * A decoder's front: validation perplexity, shipped as GGUF to llama.cpp runtimes. The weights are budgeted at
     * the GGUF file's bytes under the K-quant mapping (what a runtime that declares no types is sent): the
     * configuration's matrices at their types, the token embeddings and output head at
     * {@link GgufDecoderExport#EMBEDDING_TYPE}, the norms at {@link GgufDecoderExport#VECTOR_TYPE}; the adapter at
     * the GGUF LoRA's F32 factors.
     *
     * @throws IllegalArgumentException a front configuration that does not cover exactly the decoder's matrices
     */
    static List<FrontEntry> ofDecoder(DecoderBundleManifest m, LlamaConfig decoder) {
        List<FrontEntry> out = new ArrayList<>();
        for (DecoderBundleManifest.FrontPoint p : m.front()) {
            ModelQuantConfig c = p.quantConfig();
            Map<String, GgufType> types = GgufDecoderExport.tensorTypes(decoder, c, GgufTypeMapping.K_QUANTS);
            Set<String> quantized = new HashSet<>();
            for (ModelQuantConfig.Entry e : c.matrices())
                quantized.add(e.matrix().name());
            long denseBytes = 0;
            for (var e : HfCheckpoint.requiredShapes(decoder).entrySet()) {
                if (quantized.contains(e.getKey())) continue;
                long numel = 1;
                for (long d : e.getValue()) numel *= d;
                denseBytes += types.get(e.getKey()).byteSize(numel);
            }
            long adapterBytes = 0;
            for (ModelQuantConfig.Entry e : c.matrices())
                adapterBytes += GgufDecoderExport.LORA_TYPE.byteSize(
                        (long) m.rank() * (e.matrix().rows() + e.matrix().cols()));
            out.add(new FrontEntry(
                    c.configId(),
                    c.averageBits(),
                    QualityMeasure.PERPLEXITY,
                    p.validationPerplexity(),
                    bitWidths(c),
                    List.of(GgufPlanning.FORMAT),
                    denseBytes + GgufTypeMapping.K_QUANTS.bytes(c),
                    adapterBytes,
                    ggufOf(denseBytes, c)));
        }
        return out;
    }

    private static List<Integer> bitWidths(ModelQuantConfig c) {
        TreeSet<Integer> bits = new TreeSet<>();
        for (ModelQuantConfig.Entry e : c.matrices()) bits.add(e.config().b());
        return List.copyOf(bits);
    }

    /**
     * The configuration's weights as GGUF tensors, for planners of GGUF runtimes that declare their types: the part
     * outside the configuration ({@code denseBytes}, the same under every mapping) and the quantized matrices grouped
     * by bit-width and by the type each of the engine's {@link GgufTypeMapping}s gives them (fallbacks included), with
     * those types' exact bytes.
     */
    static GgufTensors ggufOf(long denseBytes, ModelQuantConfig c) {
        GgufTypeMapping[] mappings = GgufTypeMapping.values();
        // key: b, then the type per mapping; value: weights, then bytes per mapping
        Map<List<Object>, long[]> groups = new LinkedHashMap<>();
        for (ModelQuantConfig.Entry e : c.matrices()) {
            List<Object> key = new ArrayList<>();
            key.add(e.config().b());
            GgufType[] types = new GgufType[mappings.length];
            for (int i = 0; i < mappings.length; i++) key.add(types[i] = mappings[i].typeFor(e.matrix(), e.config()));
            long[] sums = groups.computeIfAbsent(key, k -> new long[1 + mappings.length]);
            sums[0] += e.matrix().numel();
            for (int i = 0; i < mappings.length; i++)
                sums[1 + i] += types[i].byteSize(e.matrix().numel());
        }
        List<GgufGroup> out = new ArrayList<>();
        groups.entrySet().stream()
                .sorted(Comparator.comparingInt(en -> (Integer) en.getKey().get(0)))
                .forEach(en -> {
                    List<GgufChoice> choices = new ArrayList<>();
                    for (int i = 0; i < mappings.length; i++) {
                        choices.add(new GgufChoice(
                                mappings[i].name(), ((GgufType) en.getKey().get(1 + i)).name(), en.getValue()[1 + i]));
                    }
                    out.add(new GgufGroup((Integer) en.getKey().get(0), en.getValue()[0], List.copyOf(choices)));
                });
        return new GgufTensors(denseBytes, List.copyOf(out));
    }
}
