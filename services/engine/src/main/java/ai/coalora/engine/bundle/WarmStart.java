package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.model.BertEncoder;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.model.QuantizableModel;
import ai.coalora.engine.model.QuantizedWeights;
import ai.coalora.engine.quant.MatrixSpec;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.quant.QuantizerKind;
import ai.coalora.engine.quant.plan.BudgetPlanner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where a retraining starts (telemetry-driven retraining): the trained arrays of an existing bundle — shared
 * LoRA, configuration-aware network and task head — instead of a fresh initialisation, and configurations that
 * join the initial training set (e.g. those the fleet's telemetry showed under-performing). See
 * {@link BundleTraining#run(ai.coalora.engine.model.PretrainedModel, TaskData, int, java.nio.file.Path,
 * ai.coalora.engine.train.Progress, WarmStart)}.
 *
 * @param parent              the bundle to continue from (its tensors are copied, never modified)
 * @param extraConfigurations configurations added to the initial training set; may be empty (e.g. drift), null
 *                            is read as empty
 * @param extraBudgets        budgets the parent's front covers poorly (telemetry-driven retraining's coverage
 *                            trigger): the training adds the best allocation at each, over its bit-widths; null is
 *                            read as empty
 */
public record WarmStart(
        ModelBundle.Loaded parent, List<ModelQuantConfig> extraConfigurations, List<Budget> extraBudgets) {

    /** An average-bits budget, over the weight bit-widths devices at that budget have kernels for. */
    public record Budget(double averageBits, Set<Integer> weightBits) {
        public Budget {
            if (!(averageBits > 0 && averageBits <= 16))
                throw new IllegalArgumentException("budget of " + averageBits + " average bits");
            if (weightBits == null || weightBits.isEmpty())
                throw new IllegalArgumentException("a budget needs weight bit-widths");
            weightBits = Set.copyOf(weightBits);
        }
    }

    public WarmStart {
        Objects.requireNonNull(parent, "warm start needs a parent bundle");
        extraConfigurations = extraConfigurations == null ? List.of() : List.copyOf(extraConfigurations);
        extraBudgets = extraBudgets == null ? List.of() : List.copyOf(extraBudgets);
    }

    public WarmStart(ModelBundle.Loaded parent, List<ModelQuantConfig> extraConfigurations) {
        this(parent, extraConfigurations, List.of());
    }

    /** The parent's model version: the sha256 of its tensors, as its manifest records it. */
    public String parentVersion() {
        return parent.manifest().tensorsSha256();
    }

    /**
     * Checks that the parent can continue this training: the same base model, the same labels in the same order
     * (the head's rows), the same LoRA rank and alpha, the same kind of model (configuration-aware or
     * Shared-LoRA) and the same quantizer. Every mismatch is an IllegalArgumentException naming both sides.
     */
    void checkCompatible(BertEncoder encoder, TaskData task, CoaSettings settings) {
        BundleManifest m = parent.manifest();
        String where =
                "warm start from " + (parent.dir() != null ? parent.dir() : "model version " + m.tensorsSha256());
        if (!MiniLmArtifact.ONNX_SHA256.equals(m.baseModel().onnxSha256())
                || encoder.config().numLayers() != m.baseModel().numLayers()
                || encoder.config().hiddenSize() != m.baseModel().hiddenSize()) {
            throw new IllegalArgumentException(where + ": the parent was trained on base model "
                    + m.baseModel().name() + " (weights "
                    + m.baseModel().onnxSha256() + ", " + m.baseModel().numLayers() + " blocks of width "
                    + m.baseModel().hiddenSize()
                    + "), not on this one (weights " + MiniLmArtifact.ONNX_SHA256 + ", "
                    + encoder.config().numLayers()
                    + " blocks of width " + encoder.config().hiddenSize() + ")");
        }
        if (!m.task().labels().equals(task.labels())) {
            throw new IllegalArgumentException(
                    where + ": the parent's labels " + m.task().labels() + " differ from task " + task.name()
                            + "'s labels " + task.labels() + " (a warm start needs the same labels in the same order)");
        }
        checkSameTraining(where, m.rank(), m.alpha(), m.configAware(), m.quantizer(), settings);
    }

    private static String kind(boolean configAware) {
        return configAware ? "configuration-aware (CoA-LoRA)" : "Shared-LoRA";
    }

    /**
     * The extra configurations as they join the training set: each checked against the model's matrices
     * ({@link QuantizedWeights#checkMatches}) and the training's quantizer, put into the model's matrix order
     * (so that a configuration equals the same one from the initial grid) and deduplicated, first occurrence first.
     */
    List<ModelQuantConfig> extras(QuantizableModel model) {
        return inModelOrder(model, extraConfigurations);
    }

    /** {@link #extras} for any parent: what a decoder's warm start ({@link DecoderWarmStart}) does too. */
    static List<ModelQuantConfig> inModelOrder(QuantizableModel model, List<ModelQuantConfig> extraConfigurations) {
        List<MatrixSpec> specs = QuantizedWeights.matrixSpecs(model);
        Set<ModelQuantConfig> out = new LinkedHashSet<>();
        for (int i = 0; i < extraConfigurations.size(); i++) {
            ModelQuantConfig c = extraConfigurations.get(i);
            try {
                if (c == null) throw new IllegalArgumentException("is null");
                QuantizedWeights.checkMatches(model, c);
                if (c.quantizer() != QuantizerKind.NF) {
                    throw new IllegalArgumentException("uses quantizer "
                            + c.quantizer().jsonName() + ", the training uses " + QuantizerKind.NF.jsonName());
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("warm start: extra configuration " + i + ": " + e.getMessage(), e);
            }
            Map<String, ModelQuantConfig.Entry> byName = new LinkedHashMap<>();
            for (ModelQuantConfig.Entry e : c.matrices()) byName.put(e.matrix().name(), e);
            List<ModelQuantConfig.Entry> ordered = new ArrayList<>(specs.size());
            for (MatrixSpec s : specs) ordered.add(byName.get(s.name()));
            out.add(new ModelQuantConfig(c.quantizer(), ordered));
        }
        return List.copyOf(out);
    }

    /**
     * The best allocation at each extra budget over its bit-widths, as the training's planner makes it; a budget no
     * allocation meets is an IllegalArgumentException naming it.
     */
    static List<ModelQuantConfig> budgetConfigurations(BudgetPlanner planner, List<Budget> budgets) {
        List<ModelQuantConfig> out = new ArrayList<>();
        for (Budget b : budgets) {
            try {
                out.add(planner.allocate(b.averageBits(), b.weightBits()).config());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "warm start: budget of " + b.averageBits() + " bits over " + b.weightBits() + ": "
                                + e.getMessage(),
                        e);
            }
        }
        return out;
    }

    /** The LoRA, network and quantizer a continued training must share with its parent, or an error naming both. */
    static void checkSameTraining(
            String where, int rank, float alpha, boolean configAware, String quantizer, CoaSettings settings) {
        var lora = settings.training().lora();
        if (lora.rank() != rank || Float.compare(lora.alpha(), alpha) != 0) {
            throw new IllegalArgumentException(where + ": the parent has LoRA rank " + rank + " and alpha " + alpha
                    + ", the training asks for rank " + lora.rank() + " and alpha " + lora.alpha());
        }
        if (settings.configAware() != configAware) {
            throw new IllegalArgumentException(where + ": the parent is " + kind(configAware)
                    + ", the training asks for " + kind(settings.configAware()));
        }
        if (!QuantizerKind.NF.jsonName().equals(quantizer)) {
            throw new IllegalArgumentException(where + ": the parent was trained with quantizer " + quantizer
                    + ", this training uses " + QuantizerKind.NF.jsonName());
        }
    }
}
