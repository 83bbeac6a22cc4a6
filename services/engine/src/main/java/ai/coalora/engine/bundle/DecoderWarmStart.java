package ai.coalora.engine.bundle;

import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.quant.ModelQuantConfig;
import java.util.List;
import java.util.Objects;

/**
 * Where a decoder's retraining starts: the trained shared LoRA and configuration-aware network of an existing decoder
 * bundle instead of a fresh initialisation, and configurations or budgets that join the initial training set, as
 * {@link WarmStart} does for an encoder's bundle. See {@link DecoderBundleTraining#run(LlamaDecoder,
 * ai.coalora.engine.lm.BpeTokenizer, DecoderBundleManifest.BaseModel, ai.coalora.engine.data.TaskData,
 * java.nio.file.Path, ai.coalora.engine.train.Progress, PhaseTimer, DecoderWarmStart)}.
 *
 * @param parent              the bundle to continue from (its tensors are copied, never modified)
 * @param extraConfigurations configurations added to the initial training set; null is read as empty
 * @param extraBudgets        budgets the parent's front covers poorly; null is read as empty
 */
public record DecoderWarmStart(
        DecoderBundle.Loaded parent, List<ModelQuantConfig> extraConfigurations, List<WarmStart.Budget> extraBudgets) {

    public DecoderWarmStart {
        Objects.requireNonNull(parent, "warm start needs a parent bundle");
        extraConfigurations = extraConfigurations == null ? List.of() : List.copyOf(extraConfigurations);
        extraBudgets = extraBudgets == null ? List.of() : List.copyOf(extraBudgets);
    }

    /** The parent's model version: the sha256 of its tensors, as its manifest records it. */
    public String parentVersion() {
        return parent.manifest().tensorsSha256();
    }

    /**
     * Checks that the parent can continue this training: the same base model (config, weights and tokenizer), the same
     * window length, the same LoRA rank and alpha, the same kind of model and the same quantizer. Every mismatch is
     * an IllegalArgumentException naming both sides.
     */
    void checkCompatible(DecoderBundleManifest.BaseModel base, int seqLen, CoaSettings settings) {
        DecoderBundleManifest m = parent.manifest();
        String where = "warm start from " + (parent.dir() != null ? parent.dir() : "model version " + parentVersion());
        if (!m.baseModel().sameModelAs(base)) {
            throw new IllegalArgumentException(where + ": the parent was trained on the model at "
                    + m.baseModel().path() + " (weights " + m.baseModel().weightsSha256() + "), not on the one at "
                    + base.path() + " (weights " + base.weightsSha256() + ")");
        }
        if (m.seqLen() != seqLen) {
            throw new IllegalArgumentException(where + ": the parent was trained on windows of " + m.seqLen()
                    + " tokens, the training asks for " + seqLen);
        }
        WarmStart.checkSameTraining(where, m.rank(), m.alpha(), m.configAware(), m.quantizer(), settings);
    }

    /** The extra configurations in the decoder's matrix order, checked and deduplicated ({@link WarmStart#extras}). */
    List<ModelQuantConfig> extras(LlamaDecoder decoder) {
        return WarmStart.inModelOrder(decoder, extraConfigurations);
    }
}
