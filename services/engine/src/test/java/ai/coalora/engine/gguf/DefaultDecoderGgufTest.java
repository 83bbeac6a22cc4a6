package ai.coalora.engine.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.ScaleType;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The decoder `pretrain` makes by default has shapes GGUF can quantize as configured: every weight matrix's rows
 * divide into K-quant blocks (256) and legacy blocks (32), so no matrix falls back to F16 and the file's weight bytes
 * are exactly what the planner budgets ({@link GgufTypeMapping#bitsPerWeight}).
 */
class DefaultDecoderGgufTest {
    static final LlamaConfig DEFAULT =
            Pretraining.config(Pretraining.Settings.defaults(), GgufDecoderExportTest.TOKENIZER.vocabSize());

    @Test
    void everyWeightMatrixKeepsItsNominalTypeAtEveryBitWidth() {
        for (MatrixSpec m : LlamaTensorNames.quantizableMatrices(DEFAULT))
            for (int b : QuantConfig.WEIGHT_BITS)
                for (GgufTypeMapping mapping : GgufTypeMapping.values())
                    assertEquals(mapping.nominal(b), mapping.typeFor(b, m.cols()), m.name() + " at " + b + " bits");
    }

    @Test
    void theFilesWeightBytesAreThePlannedBits() {
        HfCheckpoint checkpoint = Pretraining.initialize(DEFAULT, 5);
        Random r = new Random(5);
        List<ModelQuantConfig.Entry> entries = new ArrayList<>();
        for (MatrixSpec m : LlamaTensorNames.quantizableMatrices(DEFAULT)) {
            int b = QuantConfig.WEIGHT_BITS.get(r.nextInt(QuantConfig.WEIGHT_BITS.size()));
            entries.add(new ModelQuantConfig.Entry(m, new QuantConfig(b, 8, ScaleType.FP16, 64, 256)));
        }
        ModelQuantConfig config = new ModelQuantConfig(QuantizerKind.NF, entries);
        for (GgufTypeMapping mapping : GgufTypeMapping.values()) {
            GgufFile gguf = GgufDecoderExport.toGguf(checkpoint, GgufDecoderExportTest.TOKENIZER, config, mapping);
            long bytes = 0, weights = 0;
            for (ModelQuantConfig.Entry e : entries) {
                GgufTensor t = gguf.tensor(LlamaTensorNames.toGguf(e.matrix().name()));
                assertEquals(
                        mapping.nominal(e.config().b()), t.type(), e.matrix().name());
                bytes += t.data().length;
                weights += t.elementCount();
            }
            double fileBits = 8.0 * bytes / weights;
            System.out.printf(
                    "default decoder (%d parameters), %s: configured %.3f bits, GGUF %.4f bits per weight in the file%n",
                    Pretraining.parameterCount(DEFAULT), mapping, config.averageBits(), fileBits);
            assertEquals(mapping.bitsPerWeight(config), fileBits, 1e-12, mapping.toString());
        }
    }
}
