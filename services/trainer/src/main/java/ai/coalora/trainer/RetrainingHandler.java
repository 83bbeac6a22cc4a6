package ai.coalora.trainer;

import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.BundleTraining;
import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.bundle.DecoderBundleTraining;
import ai.coalora.engine.bundle.DecoderWarmStart;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.bundle.PhaseTimer;
import ai.coalora.engine.bundle.WarmStart;
import ai.coalora.engine.coa.CoaSettings;
import ai.coalora.engine.data.TaskData;
import ai.coalora.engine.data.Tasks;
import ai.coalora.engine.decoder.LlamaDecoder;
import ai.coalora.engine.lm.BpeTokenizer;
import ai.coalora.engine.lm.Pretraining;
import ai.coalora.engine.lora.LoraSpec;
import ai.coalora.engine.model.PretrainedModel;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.engine.train.FineTuneSettings;
import ai.coalora.engine.train.Progress;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.RetrainingRequested;
import ai.coalora.fleet.messaging.EventHandler;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.registry.RegistryClient;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a retraining request: fetches the version it names, trains CoA-LoRA warm-started from it with the
 * named configurations (accuracy trigger) and allocations at the named budgets (coverage trigger) added to the
 * training set, registers the result as a new immutable version whose
 * lineage names its parent, the data and the telemetry that triggered it, and points the candidate alias
 * (canary) at it, so a rollout can ship it. The slow part runs before the transaction; a request already
 * answered (the trainings table) is not trained again.
 */
final class RetrainingHandler implements EventHandler {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainingHandler.class);

    /** The retraining schedule. */
    record Schedule(int trainExamples, int epochs, int initialGrid, int segments, int candidates, String alias) {}

    private final DataSource dataSource;
    private final RegistryClient registry;
    private final Path workDir;
    private final Schedule schedule;
    private final Set<String> unanswerable = ConcurrentHashMap.newKeySet();

    RetrainingHandler(DataSource dataSource, RegistryClient registry, Path workDir, Schedule schedule) {
        this.dataSource = dataSource;
        this.registry = registry;
        this.workDir = workDir;
        this.schedule = schedule;
    }

    @Override
    public void prepare(List<CloudEvent> fresh) throws Exception {
        for (CloudEvent e : fresh) {
            RetrainingRequested r;
            try {
                r = EventHandler.data(e, RetrainingRequested.class);
            } catch (RejectedEvent unreadable) {
                continue; // apply rejects it
            }
            if (answered(r.requestId()) != null) continue;
            try {
                retrain(r);
            } catch (FileNotFoundException | IllegalArgumentException bad) {
                LOG.warn("retraining request {} cannot be answered: {}", r.requestId(), bad.getMessage());
                unanswerable.add(r.requestId() + ": " + bad.getMessage());
            }
        }
    }

    @Override
    public void apply(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException {
        RetrainingRequested r = EventHandler.data(event, RetrainingRequested.class);
        for (String u : unanswerable)
            if (u.startsWith(r.requestId() + ": "))
                throw new RejectedEvent(u.substring(r.requestId().length() + 2));
        if (answered(r.requestId()) == null)
            throw new IllegalStateException("request " + r.requestId() + " not answered after prepare");
    }

    private void retrain(RetrainingRequested r) throws Exception {
        long t0 = System.nanoTime();
        Path parentDir = workDir.resolve("versions").resolve(r.modelVersion());
        JsonNode parentInfo = registry.downloadVersion(r.modelVersion(), parentDir);
        List<WarmStart.Budget> budgets = new ArrayList<>();
        for (Payloads.CoverageBudget b : r.budgetsOrEmpty())
            budgets.add(new WarmStart.Budget(b.averageBits(), Set.copyOf(b.weightBits())));
        Path out = workDir.resolve("results").resolve(r.requestId());
        if (Files.exists(out))
            try (Stream<Path> s = Files.list(out)) {
                for (Path f : s.toList()) Files.delete(f);
            }
        TaskData task = DecoderBundleManifest.FORMAT.equals(ModelBundle.formatOf(parentDir))
                ? retrainDecoder(r, parentDir, budgets, out)
                : retrainEncoder(r, parentDir, budgets, out);
        // a decoder version carries its base model's files: the child adapts the same model, so it carries them too
        List<Path> versionFiles = new ArrayList<>();
        try (Stream<Path> s = Files.list(out)) {
            versionFiles.addAll(s.filter(Files::isRegularFile).sorted().toList());
        }
        for (JsonNode f : parentInfo.get("files")) {
            String name = f.get("name").asText();
            if (!name.equals(ModelBundle.MANIFEST) && !name.equals(ModelBundle.TENSORS))
                versionFiles.add(parentDir.resolve(name));
        }
        // register with lineage, then make it the candidate
        List<Map<String, String>> files = new ArrayList<>();
        for (Path f : versionFiles) {
            files.add(Map.of("name", f.getFileName().toString(), "sha256", registry.putBlob(Files.readAllBytes(f))));
        }
        ObjectNode lineage = Payloads.JSON.createObjectNode();
        lineage.put("retrainingRequest", r.requestId());
        lineage.put("warmStartFrom", r.modelVersion());
        lineage.set("addedConfigurations", Payloads.toJson(r.configIds()));
        if (!budgets.isEmpty()) lineage.set("addedBudgets", Payloads.toJson(r.budgets()));
        lineage.putObject("trigger").put("reason", r.reason()).set("evidence", r.evidence());
        lineage.putObject("data")
                .put("task", task.name())
                .put("sha256", task.sourceSha256())
                .put("trainExamples", task.train().size());
        lineage.put("parentFiles", parentInfo.get("files").toString());
        JsonNode version = registry.sendJson(
                "POST", "api/versions", Map.of("files", files, "parentVersion", r.modelVersion(), "lineage", lineage));
        String id = version.get("modelVersion").asText();
        registry.sendJson(
                "PUT",
                "api/aliases/" + schedule.alias(),
                Map.of(
                        "modelVersion",
                        id,
                        "actor",
                        "trainer",
                        "reason",
                        "retrained for " + r.requestId() + ": " + r.reason()));
        double seconds = (System.nanoTime() - t0) / 1e9;
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "insert into trainings (request_id, parent_version, result_version, seconds) values (?, ?, ?, ?) "
                                + "on conflict do nothing")) {
            st.setString(1, r.requestId());
            st.setString(2, r.modelVersion());
            st.setString(3, id);
            st.setDouble(4, seconds);
            st.executeUpdate();
        }
        LOG.info(
                "retraining {} registered version {} as {} in {} s",
                r.requestId(),
                id.substring(0, 12),
                schedule.alias(),
                Math.round(seconds));
    }

    /** Trains an encoder classifier's child into {@code out}; returns the data it trained on. */
    private TaskData retrainEncoder(RetrainingRequested r, Path parentDir, List<WarmStart.Budget> budgets, Path out)
            throws Exception {
        ModelBundle.Loaded parent = ModelBundle.read(parentDir);
        BundleManifest m = parent.manifest();
        List<ModelQuantConfig> extra = requested(
                r,
                m.front().stream().map(BundleManifest.FrontPoint::quantConfig).toList());
        TaskData task = trainingData(m.task().name());
        BundleTraining training = new BundleTraining(
                coaSettings(m.rank(), m.alpha(), m.configAware()),
                schedule.initialGrid(),
                schedule.segments(),
                schedule.candidates(),
                BundleTraining.defaults().evaluationBatch());
        LOG.info(
                "retraining {} from {} with {} configurations and {} budgets added ({} examples, {} epochs)",
                r.requestId(),
                r.modelVersion().substring(0, 12),
                extra.size(),
                budgets.size(),
                task.train().size(),
                schedule.epochs());
        try (PretrainedModel model = PretrainedModel.miniLm(m.maxLength())) {
            training.run(model, task, m.maxLength(), out, Progress.NONE, new WarmStart(parent, extra, budgets));
        }
        return task;
    }

    /**
     * Trains a decoder's child into {@code out} on the base model the parent version carries, with the parent's window
     * length, rank and quantizer (a warm start refuses anything else); returns the text it trained on.
     */
    private TaskData retrainDecoder(RetrainingRequested r, Path parentDir, List<WarmStart.Budget> budgets, Path out)
            throws Exception {
        DecoderBundle.Loaded parent = DecoderBundle.read(parentDir);
        DecoderBundleManifest m = parent.manifest();
        List<ModelQuantConfig> extra = requested(
                r,
                m.front().stream()
                        .map(DecoderBundleManifest.FrontPoint::quantConfig)
                        .toList());
        TaskData task = trainingData(m.task().name());
        DecoderBundleTraining training = new DecoderBundleTraining(
                coaSettings(m.rank(), m.alpha(), m.configAware()),
                m.seqLen(),
                0,
                DecoderBundleTraining.defaults().evaluationWindows(),
                m.task().validationWindows(),
                schedule.initialGrid(),
                schedule.segments(),
                schedule.candidates());
        LOG.info(
                "retraining decoder {} from {} with {} configurations and {} budgets added ({} texts, {} epochs)",
                r.requestId(),
                r.modelVersion().substring(0, 12),
                extra.size(),
                budgets.size(),
                task.train().size(),
                schedule.epochs());
        try (NDManager manager = NDManager.newBaseManager();
                LlamaDecoder decoder = LlamaDecoder.load(parentDir, manager)) {
            training.run(
                    decoder,
                    BpeTokenizer.load(parentDir.resolve(Pretraining.TOKENIZER_FILE)),
                    DecoderBundleManifest.BaseModel.of(parentDir),
                    task,
                    out,
                    Progress.NONE,
                    new PhaseTimer(),
                    new DecoderWarmStart(parent, extra, budgets));
        }
        return task;
    }

    /** The request's configurations, from the parent's front; one the front lacks makes the request unanswerable. */
    private static List<ModelQuantConfig> requested(RetrainingRequested r, List<ModelQuantConfig> front) {
        List<ModelQuantConfig> extra = new ArrayList<>();
        for (ModelQuantConfig c : front) if (r.configIds().contains(c.configId())) extra.add(c);
        if (extra.size() < r.configIds().size())
            throw new IllegalArgumentException(
                    "some requested configurations are not on the front of " + r.modelVersion());
        return extra;
    }

    /** The schedule's training settings with the parent's adapter shape (a warm start needs the same rank and kind). */
    private CoaSettings coaSettings(int rank, float alpha, boolean configAware) {
        FineTuneSettings d = FineTuneSettings.defaults();
        FineTuneSettings fine = new FineTuneSettings(
                schedule.epochs(),
                d.batchSize(),
                d.learningRate(),
                d.weightDecay(),
                d.clipNorm(),
                d.seed(),
                new LoraSpec(rank, alpha));
        return new CoaSettings(fine, 2, configAware, CoaSettings.DEFAULT_CACHE_CAPACITY);
    }

    /** The task's data as the schedule trains on it: the first {@code trainExamples} of its train split. */
    private TaskData trainingData(String taskName) {
        TaskData all = Tasks.builtin(taskName);
        return new TaskData(
                all.name(),
                all.labels(),
                all.train()
                        .subList(
                                0,
                                Math.min(schedule.trainExamples(), all.train().size())),
                all.validation(),
                all.test(),
                all.sourceSha256());
    }

    private String answered(String requestId) throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st =
                        c.prepareStatement("select result_version from trainings where request_id = ?")) {
            st.setString(1, requestId);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
