package ai.coalora.fleet.events;

import ai.coalora.fleet.planning.QualityMeasure;
import ai.coalora.fleet.security.PackageManifest;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The data of every event as Java records, field for field the JSON Schemas under {@code schemas/}.
 * Unknown fields are ignored on read: a newer producer may add optional fields (schema evolution rules).
 */
public final class Payloads {
    public static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private Payloads() {}

    public static JsonNode toJson(Object payload) {
        return JSON.valueToTree(payload);
    }

    /** Reads validated event data into its record; a failure here means schema and record disagree. */
    public static <T> T read(JsonNode data, Class<T> type) {
        try {
            return JSON.treeToValue(data, type);
        } catch (Exception e) {
            throw new IllegalArgumentException(
                    "data does not map to " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * What a device can hold and run. {@code ggufTypes} (optional, null when absent): the GGUF tensor types its
     * runtime executes, e.g. Q4_0, Q8_0, Q4_K; meaningful when {@code runtimeFormats} contains "gguf".
     */
    public record DeviceCapabilities(
            String deviceId,
            long memoryBytes,
            List<Integer> weightBits,
            List<String> runtimeFormats,
            String computeClass,
            Long runtimeOverheadBytes,
            Map<String, String> labels,
            List<String> ggufTypes) {
        public DeviceCapabilities(
                String deviceId,
                long memoryBytes,
                List<Integer> weightBits,
                List<String> runtimeFormats,
                String computeClass,
                Long runtimeOverheadBytes,
                Map<String, String> labels) {
            this(deviceId, memoryBytes, weightBits, runtimeFormats, computeClass, runtimeOverheadBytes, labels, null);
        }

        public long overheadBytes() {
            return runtimeOverheadBytes == null ? 0 : runtimeOverheadBytes;
        }

        /** Whether the device restricts its GGUF runtime to declared types (absent or empty: it does not). */
        public boolean declaresGgufTypes() {
            return ggufTypes != null && !ggufTypes.isEmpty();
        }
    }

    /** Memory a configuration needs on a device, in bytes. */
    public record Footprint(long weightBytes, long adapterBytes, long overheadBytes, long totalBytes) {}

    /**
     * The planner's decision for one device: a configuration of a model version, or explicitly none. A feasible one
     * carries the quality its version's front predicts for the configuration ({@code measure}, {@code predicted}).
     */
    public record Assignment(
            String deviceId,
            String assignmentId,
            String capabilitiesEventId,
            boolean feasible,
            String reason,
            String modelVersion,
            String alias,
            String configId,
            Double averageBits,
            QualityMeasure measure,
            Double predicted,
            String runtimeFormat,
            Footprint footprint,
            String rolloutId,
            ai.coalora.fleet.planning.GgufPlanning.GgufPlan gguf) {
        @JsonCreator
        static Assignment read(
                @JsonProperty("deviceId") String deviceId,
                @JsonProperty("assignmentId") String assignmentId,
                @JsonProperty("capabilitiesEventId") String capabilitiesEventId,
                @JsonProperty("feasible") boolean feasible,
                @JsonProperty("reason") String reason,
                @JsonProperty("modelVersion") String modelVersion,
                @JsonProperty("alias") String alias,
                @JsonProperty("configId") String configId,
                @JsonProperty("averageBits") Double averageBits,
                @JsonProperty("measure") QualityMeasure measure,
                @JsonProperty("predicted") Double predicted,
                @JsonProperty("predictedAccuracy") Double predictedAccuracy,
                @JsonProperty("runtimeFormat") String runtimeFormat,
                @JsonProperty("footprint") Footprint footprint,
                @JsonProperty("rolloutId") String rolloutId,
                @JsonProperty("gguf") ai.coalora.fleet.planning.GgufPlanning.GgufPlan gguf) {
            Quality q = Quality.read(measure, predicted, predictedAccuracy);
            return new Assignment(
                    deviceId,
                    assignmentId,
                    capabilitiesEventId,
                    feasible,
                    reason,
                    modelVersion,
                    alias,
                    configId,
                    averageBits,
                    q == null ? null : q.measure(),
                    q == null ? null : q.value(),
                    runtimeFormat,
                    footprint,
                    rolloutId,
                    gguf);
        }

        /** Written for consumers that know only accuracy: present exactly when the measure is accuracy. */
        @JsonProperty("predictedAccuracy")
        Double predictedAccuracy() {
            return measure == QualityMeasure.ACCURACY ? predicted : null;
        }
    }

    /** One downloadable file of an adapter package. */
    public record Artifact(String role, String name, String sha256, long bytes, String url) {}

    /**
     * The adapter (and quantized base) for a device's assignment is stored and can be fetched.
     *
     * @param manifest the signed package manifest the device checks before installing (null from older generators)
     */
    public record AdapterReady(
            String deviceId,
            String assignmentId,
            String modelVersion,
            String configId,
            double averageBits,
            String packageSha256,
            List<Artifact> artifacts,
            PackageManifest.Signed manifest) {}

    /**
     * What a device measured with what it runs: the quality of its version's measure ({@code measured}: accuracy on
     * labelled examples, or perplexity on held-out text, over {@code examples} examples or tokens), latency, memory and,
     * for text generation, tokens per second (null otherwise).
     */
    public record EvaluationTelemetry(
            String deviceId,
            String modelVersion,
            String configId,
            String packageSha256,
            QualityMeasure measure,
            double measured,
            int examples,
            double latencyMsPerExample,
            long memoryBytes,
            Instant measuredAt,
            Double tokensPerSecond) {
        /** An encoder device's report: accuracy on labelled examples. */
        public static EvaluationTelemetry accuracy(
                String deviceId,
                String modelVersion,
                String configId,
                String packageSha256,
                double accuracy,
                int examples,
                double latencyMsPerExample,
                long memoryBytes,
                Instant measuredAt) {
            return new EvaluationTelemetry(
                    deviceId,
                    modelVersion,
                    configId,
                    packageSha256,
                    QualityMeasure.ACCURACY,
                    accuracy,
                    examples,
                    latencyMsPerExample,
                    memoryBytes,
                    measuredAt,
                    null);
        }

        @JsonCreator
        static EvaluationTelemetry read(
                @JsonProperty("deviceId") String deviceId,
                @JsonProperty("modelVersion") String modelVersion,
                @JsonProperty("configId") String configId,
                @JsonProperty("packageSha256") String packageSha256,
                @JsonProperty("measure") QualityMeasure measure,
                @JsonProperty("measured") Double measured,
                @JsonProperty("accuracy") Double accuracy,
                @JsonProperty("examples") int examples,
                @JsonProperty("latencyMsPerExample") double latencyMsPerExample,
                @JsonProperty("memoryBytes") long memoryBytes,
                @JsonProperty("measuredAt") Instant measuredAt,
                @JsonProperty("tokensPerSecond") Double tokensPerSecond) {
            Quality q = Quality.read(measure, measured, accuracy);
            if (q == null) throw new IllegalArgumentException("telemetry without a measured quality");
            return new EvaluationTelemetry(
                    deviceId,
                    modelVersion,
                    configId,
                    packageSha256,
                    q.measure(),
                    q.value(),
                    examples,
                    latencyMsPerExample,
                    memoryBytes,
                    measuredAt,
                    tokensPerSecond);
        }

        /** Written for consumers that know only accuracy: present exactly when the measure is accuracy. */
        @JsonProperty("accuracy")
        Double accuracy() {
            return measure == QualityMeasure.ACCURACY ? measured : null;
        }
    }

    /** One file of a model version. */
    public record FileRef(String name, String sha256, long bytes) {}

    public record ModelRegistered(
            String modelVersion,
            String parentVersion,
            String task,
            String baseModel,
            List<FileRef> files,
            int frontSize,
            Instant createdAt,
            JsonNode lineage,
            List<FrontEntry> front) {}

    /**
     * One configuration of a version's Pareto front, with what the planner needs to decide: the quality the version
     * predicts for it ({@code predicted}, in the version's {@code measure}), its bit-widths, formats and bytes.
     * {@code gguf} (optional, null on fronts registered before it existed): what the configuration's weights cost as
     * GGUF tensors.
     */
    public record FrontEntry(
            String configId,
            double averageBits,
            QualityMeasure measure,
            double predicted,
            List<Integer> weightBits,
            List<String> runtimeFormats,
            long weightBytes,
            long adapterBytes,
            GgufTensors gguf) {
        @JsonCreator
        static FrontEntry read(
                @JsonProperty("configId") String configId,
                @JsonProperty("averageBits") double averageBits,
                @JsonProperty("measure") QualityMeasure measure,
                @JsonProperty("predicted") Double predicted,
                @JsonProperty("predictedAccuracy") Double predictedAccuracy,
                @JsonProperty("weightBits") List<Integer> weightBits,
                @JsonProperty("runtimeFormats") List<String> runtimeFormats,
                @JsonProperty("weightBytes") long weightBytes,
                @JsonProperty("adapterBytes") long adapterBytes,
                @JsonProperty("gguf") GgufTensors gguf) {
            Quality q = Quality.read(measure, predicted, predictedAccuracy);
            if (q == null) throw new IllegalArgumentException("front entry " + configId + " predicts no quality");
            return new FrontEntry(
                    configId,
                    averageBits,
                    q.measure(),
                    q.value(),
                    weightBits,
                    runtimeFormats,
                    weightBytes,
                    adapterBytes,
                    gguf);
        }

        /** Written for consumers that know only accuracy: present exactly when the measure is accuracy. */
        @JsonProperty("predictedAccuracy")
        Double predictedAccuracy() {
            return measure == QualityMeasure.ACCURACY ? predicted : null;
        }
    }

    /**
     * A quality and its measure as events carry it: {@code measure} with its value, or (as every producer wrote before
     * there was more than one measure) an accuracy alone. Null when neither is there.
     */
    record Quality(QualityMeasure measure, double value) {
        static Quality read(QualityMeasure measure, Double value, Double accuracy) {
            QualityMeasure m = QualityMeasure.orDefault(measure);
            Double v = value != null ? value : m == QualityMeasure.ACCURACY ? accuracy : null;
            return v == null ? null : new Quality(m, v);
        }
    }

    /**
     * A configuration's base weights as GGUF tensors: {@code denseBytes} of tensors kept in full precision (F32, the
     * same in every mapping), and its quantized matrices in groups that map alike.
     */
    public record GgufTensors(long denseBytes, List<GgufGroup> groups) {}

    /**
     * Quantized matrices of one weight bit-width whose rows admit the same GGUF types: {@code weights} weights in
     * all, and per type mapping the type they become (block-size fallbacks applied) and its exact bytes.
     */
    public record GgufGroup(int weightBits, long weights, List<GgufChoice> choices) {}

    /** The GGUF type a group becomes under one mapping ("K_QUANTS", "LEGACY"), and the bytes it then takes. */
    public record GgufChoice(String mapping, String type, long bytes) {}

    /** An alias (production, canary) now points at a version; carries the front so planners need no lookup. */
    public record ModelPromoted(
            String alias,
            String modelVersion,
            String previousVersion,
            String actor,
            String reason,
            List<FrontEntry> front) {}

    /** What a device did with an assignment's package: applied, failed, or rejected (verification failed). */
    public record DeviceStatus(
            String deviceId,
            String assignmentId,
            String modelVersion,
            String configId,
            String packageSha256,
            String status,
            String reason,
            Instant at) {
        public static final String APPLIED = "applied", FAILED = "failed", REJECTED = "rejected";
    }

    /** The version a device should run (a rollout wave, or its revert); null version: follow the production alias. */
    public record DeviceTarget(
            String deviceId, String modelVersion, String rolloutId, Integer wave, String reason, Boolean retry) {}

    /**
     * Retrain {@code modelVersion} with {@code configIds} added to the training set (accuracy trigger), and with
     * configurations allocated at {@code budgets} (coverage trigger: budgets the front covers poorly); budgets is
     * null when there are none.
     */
    public record RetrainingRequested(
            String requestId,
            String modelVersion,
            List<String> configIds,
            String reason,
            JsonNode evidence,
            List<CoverageBudget> budgets) {
        public RetrainingRequested(
                String requestId, String modelVersion, List<String> configIds, String reason, JsonNode evidence) {
            this(requestId, modelVersion, configIds, reason, evidence, null);
        }

        public List<CoverageBudget> budgetsOrEmpty() {
            return budgets == null ? List.of() : budgets;
        }
    }

    /** A budget in average bits that devices with these weight bit-widths have and the front covers poorly. */
    public record CoverageBudget(double averageBits, List<Integer> weightBits, int devices) {}
}
