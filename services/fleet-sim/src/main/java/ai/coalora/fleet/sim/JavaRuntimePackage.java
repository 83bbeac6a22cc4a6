package ai.coalora.fleet.sim;

import ai.coalora.engine.data.Example;
import ai.coalora.engine.device.DeviceModel;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.fleet.planning.QualityMeasure;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;

/**
 * A packed package on the Java runtime: the quantized classifier with its adapter built from exactly the package's
 * files ({@link DeviceModel}), measured by accuracy on labelled examples. Drift flips the labels, the way a shift in the
 * data a device sees makes the model under-perform.
 */
final class JavaRuntimePackage implements RunningPackage {
    static final int MAX_LENGTH = 40;

    private final DeviceModel model;
    private final PretrainedModel tokenizerSource;

    JavaRuntimePackage(Map<String, byte[]> files, PretrainedModel tokenizerSource, NDManager manager) {
        this.model = DeviceModel.load(files, manager);
        this.tokenizerSource = tokenizerSource;
    }

    @Override
    public Measurement measure(String device, List<Example> shard, boolean drift) {
        List<Example> seen = drift
                ? shard.stream().map(e -> new Example(e.text(), 1 - e.label())).toList()
                : shard;
        DeviceModel.Evaluation e;
        synchronized (model) { // one evaluation per loaded model at a time (its native buffers are shared)
            e = model.evaluate(tokenizerSource.tokenizer(), seen, MAX_LENGTH);
        }
        return new Measurement(
                QualityMeasure.ACCURACY,
                e.accuracy(),
                e.examples(),
                e.msPerExample(),
                model.memoryBytes(),
                null,
                null,
                "evaluated " + e.examples() + " examples");
    }

    @Override
    public void close() {
        model.close();
    }
}
