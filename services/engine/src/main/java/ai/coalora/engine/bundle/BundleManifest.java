package ai.coalora.engine.bundle;

import ai.coalora.common.Sha256;
import ai.coalora.engine.quant.ModelQuantConfig;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The manifest of a {@link ModelBundle} ({@value #FORMAT}), stored as {@code bundle.json}.
 *
 * @param baseModel     the pretrained model the adapters apply to, with the checksum of its weights file
 * @param task          task name, label names (the head's output order), hash of the data it was trained on
 * @param front         the final Pareto front: each configuration with its exact average bits and the
 *                      accuracy and loss measured on the validation split
 * @param tensorsSha256 sha256 of {@code tensors.safetensors}; checked on every read
 */
public record BundleManifest(
        String format,
        BaseModel baseModel,
        Task task,
        int rank,
        float alpha,
        boolean configAware,
        String quantizer,
        int maxLength,
        List<FrontPoint> front,
        Training training,
        String tensorsSha256) {
    public static final String FORMAT = "coalora.bundle/v1";

    public record BaseModel(String name, String onnxSha256, int numLayers, int hiddenSize) {}

    public record Task(String name, List<String> labels, String dataSha256, int trainExamples) {}

    /** One configuration of the front; {@code config} is a {@code coalora.quant-config/v1} object. */
    public record FrontPoint(double averageBits, double validationAccuracy, double validationLoss, JsonNode config) {
        public ModelQuantConfig quantConfig() {
            return BundleFiles.quantConfig(config);
        }

        public static FrontPoint of(ModelQuantConfig config, double accuracy, double loss) {
            return new FrontPoint(config.averageBits(), accuracy, loss, BundleFiles.json(config));
        }
    }

    /**
     * How the bundle was trained (for lineage and reports).
     *
     * @param initialConfigurations size of the initial training set (the grid plus any warm start's extra configurations)
     * @param warmStartFrom         for a warm-started bundle, the parent bundle's model version (its tensorsSha256);
     *                              absent (null, and not written) for a bundle trained from scratch and in older bundles
     * @param extraConfigurations   for a warm-started bundle, how many distinct extra configurations were put into the
     *                              initial training set (some may also have been grid configurations); absent otherwise
     * @param phaseSeconds          wall time by phase in run order ({@link PhaseTimer}: loading, encoding, calibration,
     *                              training, search, front; writing the bundle comes after the manifest is made); absent
     *                              in bundles written before it was recorded
     */
    public record Training(
            int epochs,
            int batchSize,
            float learningRate,
            float weightDecay,
            long seed,
            int configsPerStep,
            String policy,
            int initialConfigurations,
            int segments,
            int trainedConfigurations,
            double seconds,
            int recomputedSteps,
            String createdAt,
            @JsonInclude(JsonInclude.Include.NON_NULL) String warmStartFrom,
            @JsonInclude(JsonInclude.Include.NON_NULL) Integer extraConfigurations,
            @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Double> phaseSeconds) {

        public boolean warmStarted() {
            return warmStartFrom != null;
        }

        void checkPhaseSeconds(String where) {
            if (phaseSeconds == null) return;
            phaseSeconds.forEach((phase, s) -> {
                if (s == null || !(s >= 0) || s.isInfinite()) {
                    throw new IllegalArgumentException(where + ": invalid training.phaseSeconds." + phase + " " + s);
                }
            });
        }
    }

    /** The most accurate front configuration with average bits <= budget (the planner's rule). */
    public FrontPoint bestWithin(double budgetBits) {
        return BundleFiles.bestWithin(
                front,
                FrontPoint::averageBits,
                budgetBits,
                Comparator.comparingDouble(FrontPoint::validationAccuracy)
                        .reversed()
                        .thenComparingDouble(FrontPoint::averageBits));
    }

    public BundleManifest withTensorsSha256(String sha) {
        return new BundleManifest(
                format, baseModel, task, rank, alpha, configAware, quantizer, maxLength, front, training, sha);
    }

    /** Checks what Jackson cannot: the format, required parts, sane values, and that every front configuration parses. */
    void validate(String where) {
        if (!FORMAT.equals(format))
            throw new IllegalArgumentException(
                    where + ": unknown bundle format '" + format + "' (expected " + FORMAT + ")");
        if (baseModel == null
                || task == null
                || front == null
                || training == null
                || tensorsSha256 == null
                || quantizer == null) {
            throw new IllegalArgumentException(
                    where + ": manifest lacks baseModel, task, front, training, quantizer or tensorsSha256");
        }
        if (rank < 1 || !(alpha > 0))
            throw new IllegalArgumentException(where + ": invalid LoRA rank " + rank + " or alpha " + alpha);
        if (task.labels() == null || task.labels().size() < 2)
            throw new IllegalArgumentException(where + ": task needs at least 2 labels");
        if (maxLength < 2) throw new IllegalArgumentException(where + ": invalid maxLength " + maxLength);
        if (training.warmStartFrom() != null && !Sha256.isValid(training.warmStartFrom())) {
            throw new IllegalArgumentException(
                    where + ": training.warmStartFrom must be a model version (64 hex digits), got '"
                            + training.warmStartFrom() + "'");
        }
        if (training.extraConfigurations() != null && training.extraConfigurations() < 0) {
            throw new IllegalArgumentException(
                    where + ": invalid training.extraConfigurations " + training.extraConfigurations());
        }
        training.checkPhaseSeconds(where);
        for (int i = 0; i < front.size(); i++)
            BundleFiles.frontConfig(
                    where, i, front.get(i).config(), front.get(i).averageBits());
    }
}
