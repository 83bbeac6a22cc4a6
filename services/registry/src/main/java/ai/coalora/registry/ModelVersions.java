package ai.coalora.registry;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.DevicePackage;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.gguf.GgufType;
import ai.coalora.engine.gguf.GgufTypeMapping;
import ai.coalora.engine.model.BertConfig;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.FileRef;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.GgufChoice;
import ai.coalora.fleet.events.Payloads.GgufGroup;
import ai.coalora.fleet.events.Payloads.GgufTensors;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.events.Payloads.ModelRegistered;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.planning.ParetoSelection;
import ai.coalora.fleet.planning.QualityMeasure;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Model versions and aliases. A version is a trained bundle, named by the sha256 of its file list and
 * immutable; registering reads and checks the bundle, and computes for each configuration on its Pareto
 * front what a device needs to hold it (the planner budgets with these). Aliases point at versions; every
 * move is appended to their history and announced, in the same transaction.
 */
@ApplicationScoped
public class ModelVersions {
    static final String SOURCE = "/coalora/registry";
    static final Pattern ALIAS = Pattern.compile("^[a-z][a-z0-9-]{0,31}$");
    /** The runtime format our packed artifacts are in. */
    static final String PACKED_FORMAT = "coalora-packed";

    public record FileName(String name, String sha256) {}

    public record Registration(List<FileName> files, String parentVersion, JsonNode lineage) {}

    public record Promotion(String modelVersion, String actor, String reason) {
        Promotion withActor(String who) {
            return new Promotion(modelVersion, who, reason);
        }
    }

    public record Version(
            String modelVersion,
            String parentVersion,
            String task,
            String baseModel,
            QualityMeasure measure,
            List<FileRef> files,
            List<FrontEntry> front,
            JsonNode lineage,
            Instant createdAt) {}

    /** @param created false when these files were already registered (the same version comes back) */
    public record Registered(Version version, boolean created) {}

    public record AliasMove(
            String alias, String modelVersion, String previousVersion, String actor, String reason, Instant at) {}

    final AgroalDataSource dataSource;
    final BlobStore blobs;
    final RegistryService service;

    ModelVersions(AgroalDataSource dataSource, BlobStore blobs, RegistryService service) {
        this.dataSource = dataSource;
        this.blobs = blobs;
        this.service = service;
    }

    /** Registers a bundle whose files are already blobs; the same files give the same version (idempotent). */
    public Registered register(Registration r) throws ApiException, IOException, SQLException {
        if (r == null || r.files() == null || r.files().isEmpty())
            throw ApiException.badRequest("files: a bundle has files (bundle.json, tensors.safetensors)");
        List<FileRef> files = new ArrayList<>();
        Path staging = Files.createTempDirectory("coalora-register-");
        try {
            for (FileName f : r.files()) {
                if (f.name() == null || !f.name().matches("[A-Za-z0-9._-]{1,128}"))
                    throw ApiException.badRequest("files: bad file name '" + f.name() + "'");
                Path blob = blobs.find(f.sha256())
                        .orElseThrow(() -> ApiException.badRequest(
                                "files: no blob " + f.sha256() + " (upload it first with PUT /api/blobs/{sha256})"));
                Files.copy(blob, staging.resolve(f.name()));
                files.add(new FileRef(f.name(), f.sha256(), Files.size(blob)));
            }
            files.sort(Comparator.comparing(FileRef::name));
            BundleManifest m;
            try {
                m = ModelBundle.read(staging).manifest();
            } catch (IOException | RuntimeException e) {
                throw ApiException.badRequest("not a valid model bundle: " + e.getMessage());
            }
            if (!MiniLmArtifact.ONNX_SHA256.equals(m.baseModel().onnxSha256())) {
                throw ApiException.badRequest(
                        "bundle is for base model " + m.baseModel().name() + " ("
                                + m.baseModel().onnxSha256() + "), which this registry cannot budget");
            }
            if (m.front() == null || m.front().isEmpty())
                throw ApiException.badRequest("bundle has an empty Pareto front: nothing to assign");
            List<FrontEntry> front = frontOf(m);
            String version = versionId(files);
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                Optional<Version> existing = find(c, version);
                if (existing.isPresent()) {
                    c.rollback();
                    return new Registered(existing.get(), false);
                }
                if (r.parentVersion() != null && find(c, r.parentVersion()).isEmpty())
                    throw ApiException.badRequest("parentVersion " + r.parentVersion() + " is not registered");
                try (PreparedStatement st = c.prepareStatement(
                        "insert into model_versions (model_version, parent_version, task, base_model, measure, files, front, "
                                + "lineage) values (?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb)")) {
                    st.setString(1, version);
                    st.setString(2, r.parentVersion());
                    st.setString(3, m.task().name());
                    st.setString(4, m.baseModel().name());
                    st.setString(5, ParetoSelection.measureOf(front).jsonName());
                    st.setString(6, Payloads.toJson(files).toString());
                    st.setString(7, Payloads.toJson(front).toString());
                    st.setString(8, r.lineage() == null ? null : r.lineage().toString());
                    st.executeUpdate();
                }
                // a retrained version answers the request named in its lineage
                String request = r.lineage() == null
                        ? null
                        : r.lineage().path("retrainingRequest").asText(null);
                if (request != null) {
                    try (PreparedStatement st = c.prepareStatement(
                            "update retraining_requests set result_version = ? where request_id = ?")) {
                        st.setString(1, version);
                        st.setString(2, request);
                        st.executeUpdate();
                    }
                }
                Version v = find(c, version).orElseThrow();
                ModelRegistered event = new ModelRegistered(
                        version,
                        r.parentVersion(),
                        m.task().name(),
                        m.baseModel().name(),
                        files,
                        front.size(),
                        v.createdAt(),
                        r.lineage(),
                        front);
                new Transaction(c, ServiceRuntime.schemas())
                        .publish(
                                Topic.MODEL_VERSIONS,
                                version,
                                CloudEvent.withId(
                                        UUID.randomUUID().toString(), // random: no one can send a look-alike first
                                        SOURCE,
                                        EventTypes.MODEL_REGISTERED,
                                        version,
                                        ServiceRuntime.schemas().dataschema(EventTypes.MODEL_REGISTERED),
                                        Payloads.toJson(event)));
                AuditLog.inTransaction(c);
                c.commit();
                service.published();
                return new Registered(v, true);
            }
        } finally {
            try (var s = Files.list(staging)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(staging);
        }
    }

    /** Points {@code alias} at a version, appends the move to its history, announces it with the version's front. */
    public AliasMove promote(String alias, Promotion p) throws ApiException, SQLException {
        if (alias == null || !ALIAS.matcher(alias).matches())
            throw ApiException.badRequest("alias must match " + ALIAS.pattern());
        if (p == null || p.modelVersion() == null) throw ApiException.badRequest("modelVersion is required");
        if (p.actor() == null || p.actor().isBlank())
            throw ApiException.badRequest("actor is required (who moves the alias)");
        String reason = p.reason() == null || p.reason().isBlank() ? "promoted" : p.reason();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                Version v = find(c, p.modelVersion())
                        .orElseThrow(() ->
                                ApiException.notFound("model version " + p.modelVersion() + " is not registered"));
                String previous = null;
                try (PreparedStatement st =
                        c.prepareStatement("select model_version from aliases where alias = ? for update")) {
                    st.setString(1, alias);
                    try (ResultSet rs = st.executeQuery()) {
                        if (rs.next()) previous = rs.getString(1);
                    }
                }
                try (PreparedStatement st = c.prepareStatement(
                        "insert into aliases (alias, model_version) values (?, ?) on conflict (alias) "
                                + "do update set model_version = excluded.model_version, updated_at = now()")) {
                    st.setString(1, alias);
                    st.setString(2, v.modelVersion());
                    st.executeUpdate();
                }
                Instant at;
                try (PreparedStatement st = c.prepareStatement(
                        "insert into alias_history (alias, model_version, previous_version, actor, reason) "
                                + "values (?, ?, ?, ?, ?) returning id, at")) {
                    st.setString(1, alias);
                    st.setString(2, v.modelVersion());
                    st.setString(3, previous);
                    st.setString(4, p.actor());
                    st.setString(5, reason);
                    try (ResultSet rs = st.executeQuery()) {
                        rs.next();
                        at = rs.getTimestamp(2).toInstant();
                        ModelPromoted event =
                                new ModelPromoted(alias, v.modelVersion(), previous, p.actor(), reason, v.front());
                        new Transaction(c, ServiceRuntime.schemas())
                                .publish(
                                        Topic.MODEL_ALIASES,
                                        alias,
                                        CloudEvent.withId(
                                                UUID.randomUUID().toString(),
                                                SOURCE,
                                                EventTypes.MODEL_PROMOTED,
                                                alias,
                                                ServiceRuntime.schemas().dataschema(EventTypes.MODEL_PROMOTED),
                                                Payloads.toJson(event)));
                    }
                }
                if (alias.equals(RolloutEngine.FOLLOWED_ALIAS)) {
                    RolloutEngine.releaseFinishedPins(new Transaction(c, ServiceRuntime.schemas()));
                }
                AuditLog.inTransaction(c);
                c.commit();
                service.published();
                return new AliasMove(alias, v.modelVersion(), previous, p.actor(), reason, at);
            } catch (ApiException | SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    public List<Version> list() throws SQLException {
        List<Version> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(SELECT_VERSION + " order by created_at desc");
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) out.add(version(rs));
        }
        return out;
    }

    public Optional<Version> find(String version) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            return find(c, version);
        }
    }

    public List<AliasMove> history(String alias) throws SQLException {
        List<AliasMove> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select alias, model_version, previous_version, actor, reason, at from alias_history "
                                + "where alias = ? order by id")) {
            st.setString(1, alias);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next())
                    out.add(new AliasMove(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getString(4),
                            rs.getString(5),
                            rs.getTimestamp(6).toInstant()));
            }
        }
        return out;
    }

    private static final String SELECT_VERSION =
            "select model_version, parent_version, task, base_model, measure, files::text, front::text, lineage::text, "
                    + "created_at from model_versions";

    private static Optional<Version> find(Connection c, String version) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(SELECT_VERSION + " where model_version = ?")) {
            st.setString(1, version);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(version(rs)) : Optional.empty();
            }
        }
    }

    private static Version version(ResultSet rs) throws SQLException {
        try {
            return new Version(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    QualityMeasure.fromJson(rs.getString(5)),
                    Payloads.JSON.readValue(rs.getString(6), new TypeReference<List<FileRef>>() {}),
                    Payloads.JSON.readValue(rs.getString(7), new TypeReference<List<FrontEntry>>() {}),
                    rs.getString(8) == null ? null : Payloads.JSON.readTree(rs.getString(8)),
                    rs.getTimestamp(9).toInstant());
        } catch (IOException e) {
            throw new IllegalStateException("stored version is not JSON", e);
        }
    }

    /** Each front configuration with its identity, bit-widths and the bytes a device needs for it. */
    static List<FrontEntry> frontOf(BundleManifest m) {
        BertConfig model = BertConfig.MINILM_L6;
        List<FrontEntry> out = new ArrayList<>();
        for (BundleManifest.FrontPoint p : m.front()) {
            ModelQuantConfig c = p.quantConfig();
            TreeSet<Integer> bits = new TreeSet<>();
            for (ModelQuantConfig.Entry e : c.matrices()) bits.add(e.config().b());
            out.add(new FrontEntry(
                    c.configId(),
                    c.averageBits(),
                    QualityMeasure.ACCURACY,
                    p.validationAccuracy(),
                    List.copyOf(bits),
                    List.of(PACKED_FORMAT),
                    DevicePackage.weightBytes(model, c),
                    DevicePackage.adapterBytes(
                            m.rank(), c, model, m.task().labels().size()),
                    ggufOf(model, c)));
        }
        return out;
    }

    /**
     * The configuration's weights as GGUF tensors, for planners of GGUF runtimes that declare their types: the
     * full-precision part (F32, as in the dense file) and the quantized matrices grouped by bit-width and by the type
     * each of the engine's {@link GgufTypeMapping}s gives them (fallbacks included), with those types' exact bytes.
     */
    static GgufTensors ggufOf(BertConfig model, ModelQuantConfig c) {
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
        return new GgufTensors(4 * DevicePackage.denseParameters(model), List.copyOf(out));
    }

    /** A version's name: sha256 over its sorted "name sha256" lines. */
    static String versionId(List<FileRef> sortedFiles) {
        StringBuilder lines = new StringBuilder();
        for (FileRef f : sortedFiles)
            lines.append(f.name()).append(' ').append(f.sha256()).append('\n');
        return Sha256.of(lines.toString());
    }
}
