package ai.coalora.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.lora.LoraAdapter;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.BaseWeights;
import ai.coalora.engine.model.LinearId;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.model.Role;
import ai.coalora.engine.model.TokenBatch;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LoRA fine-tuning on a real quantized MiniLM with real sentiment data (a short run). */
class FineTunerTest {
    static PretrainedModel model;
    static TaskData task;

    @BeforeAll
    static void load() throws Exception {
        model = PretrainedModel.miniLm(64);
        task = Tasks.builtin("sentiment");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static EncodedExamples encode(List<Example> examples) {
        return EncodedExamples.of(model.tokenizer(), examples);
    }

    @Test
    void loraOnA4BitBaseLearnsTheTask() {
        ModelQuantConfig fourBit = ModelQuantConfig.uniform(
                QuantizedWeights.matrixSpecs(model.encoder()), QuantConfig.integerOnly(4), QuantizerKind.NF);
        EncodedExamples train = encode(task.train().subList(0, 480));
        EncodedExamples test = encode(task.test().subList(0, 200));
        FineTuneSettings settings = FineTuneSettings.defaults().withEpochs(2);
        try (BaseWeights base = QuantizedWeights.materialize(model.encoder(), fourBit)) {
            FineTuner.Result r =
                    new FineTuner(model.encoder(), 2).run(base, settings, train, test, test, Progress.NONE);
            System.out.printf(
                    "4-bit + LoRA, 480 examples x 2 epochs: test accuracy %.3f, %.0f tokens/s%n",
                    r.testAccuracy(), r.tokensPerSecond());
            assertEquals(2, r.epochs().size());
            assertTrue(r.epochs().get(1).trainLoss() < r.epochs().get(0).trainLoss(), "training loss did not fall");
            assertTrue(r.testAccuracy() >= 0.75, "test accuracy " + r.testAccuracy());
            assertEquals(200, r.testCorrect().length);
        }
    }

    @Test
    void freshLoraChangesNothingAndItsMergedDeltaEqualsItsForward() {
        try (NDManager scope = model.encoder().manager().newSubManager();
                LoraAdapter lora = LoraAdapter.initialize(model.encoder(), new LoraSpec(8, 16), 7, scope)) {
            TokenBatch batch =
                    TokenBatch.of(model.tokenizer().encodeAll(List.of("a fine day", "not good at all")), scope);
            NDArray plain = model.encoder().forward(batch, model.encoder().fullPrecision(), null);
            NDArray adapted = model.encoder().forward(batch, model.encoder().fullPrecision(), lora);
            assertEquals(0.0, plain.sub(adapted).abs().max().getFloat(), 0.0, "B = 0 at init: no change");

            // give B values: then s * B A applied to x must equal the adapter's forward delta
            LinearId id = new LinearId(2, Role.VALUE);
            lora.b(id).addi(scope.randomNormal(lora.b(id).getShape()));
            NDArray x = scope.randomNormal(new Shape(3, 384));
            NDArray viaForward = lora.delta(id, x);
            NDArray merged = scope.create(lora.mergedDelta(id), new Shape(384, 384));
            NDArray viaMerge = x.matMul(merged.transpose());
            assertTrue(viaForward.sub(viaMerge).abs().max().getFloat() < 1e-4);
        }
    }
}
