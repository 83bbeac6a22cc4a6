package ai.coalora.registry;

import ai.coalora.common.Sha256;
import ai.coalora.engine.bundle.BundleManifest;
import ai.coalora.engine.bundle.DecoderBundle;
import ai.coalora.engine.bundle.DecoderBundleManifest;
import ai.coalora.engine.bundle.ModelBundle;
import ai.coalora.engine.decoder.HfCheckpoint;
import ai.coalora.engine.decoder.LlamaConfig;
import ai.coalora.engine.model.MiniLmArtifact;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.FileRef;
import ai.coalora.fleet.events.Payloads.FrontEntry;
import ai.coalora.fleet.events.Payloads.ModelPromoted;
import ai.coalora.fleet.events.Payloads.ModelRegistered;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.planning.ParetoSelection;
import ai.coalora.fleet.planning.QualityMeasure;
import com.fasterxml.jackson.annotation.JsonValue;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
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
            Kind kind,
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
        Map<String, Path> byName = new TreeMap<>(); // the stored blobs, by the file name they have in the version
        Path staging = Files.createTempDirectory("coalora-register-");
        try {
            for (FileName f : r.files()) {
                if (f.name() == null || !f.name().matches("[A-Za-z0-9._-]{1,128}"))
                    throw ApiException.badRequest("files: bad file name '" + f.name() + "'");
                Path blob = blobs.find(f.sha256())
                        .orElseThrow(() -> ApiException.badRequest(
                                "files: no blob " + f.sha256() + " (upload it first with PUT /api/blobs/{sha256})"));
                if (byName.put(f.name(), blob) != null)
                    throw ApiException.badRequest("files: '" + f.name() + "' is listed twice");
                files.add(new FileRef(f.name(), f.sha256(), Files.size(blob)));
            }
            files.sort(Comparator.comparing(FileRef::name));
            Bundle bundle = readBundle(byName, staging);
            List<FrontEntry> front = bundle.front();
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
                        "insert into model_versions (model_version, parent_version, task, base_model, kind, measure, files, "
                                + "front, lineage) values (?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb)")) {
                    st.setString(1, version);
                    st.setString(2, r.parentVersion());
                    st.setString(3, bundle.task());
                    st.setString(4, bundle.baseModel());
                    st.setString(5, bundle.kind().jsonName());
                    st.setString(6, ParetoSelection.measureOf(front).jsonName());
                    st.setString(7, Payloads.toJson(files).toString());
                    st.setString(8, Payloads.toJson(front).toString());
                    st.setString(9, r.lineage() == null ? null : r.lineage().toString());
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
                        bundle.task(),
                        bundle.baseModel(),
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
            "select model_version, parent_version, task, base_model, kind, measure, files::text, front::text, "
                    + "lineage::text, created_at from model_versions";

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
                    Kind.fromJson(rs.getString(5)),
                    QualityMeasure.fromJson(rs.getString(6)),
                    Payloads.JSON.readValue(rs.getString(7), new TypeReference<List<FileRef>>() {}),
                    Payloads.JSON.readValue(rs.getString(8), new TypeReference<List<FrontEntry>>() {}),
                    rs.getString(9) == null ? null : Payloads.JSON.readTree(rs.getString(9)),
                    rs.getTimestamp(10).toInstant());
        } catch (IOException e) {
            throw new IllegalStateException("stored version is not JSON", e);
        }
    }

    /** What a version is: an encoder classifier's bundle or a decoder's (with the base model's files). */
    public enum Kind {
        ENCODER,
        DECODER;

        @JsonValue
        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Kind fromJson(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
    }

    /** What registering needs of a bundle: its kind, task, base model and front. */
    record Bundle(Kind kind, String task, String baseModel, List<FrontEntry> front) {}

    /**
     * Reads and checks the bundle among a version's files, by its manifest's format. An encoder bundle must be for the
     * base model this registry budgets (MiniLM, by the ONNX file's checksum). A decoder bundle comes with its base
     * model's files ({@code config.json}, {@code tokenizer.json}, the weights), which must be the ones it was trained
     * on, checksum for checksum; its front is budgeted from that {@code config.json}. Anything else is a 400 naming
     * what is wrong.
     */
    static Bundle readBundle(Map<String, Path> files, Path staging) throws ApiException, IOException {
        for (String name : List.of(ModelBundle.MANIFEST, ModelBundle.TENSORS)) {
            Path f = files.get(name);
            if (f == null)
                throw ApiException.badRequest("not a valid model bundle: files: " + name + " is missing (a bundle has "
                        + ModelBundle.MANIFEST + " and " + ModelBundle.TENSORS + ")");
            Files.copy(f, staging.resolve(name));
        }
        String format;
        try {
            format = ModelBundle.formatOf(staging);
        } catch (IOException e) {
            throw ApiException.badRequest("not a valid model bundle: " + ModelBundle.MANIFEST + " is not JSON");
        }
        try {
            if (DecoderBundleManifest.FORMAT.equals(format)) {
                DecoderBundleManifest m = DecoderBundle.read(staging).manifest();
                if (m.front().isEmpty())
                    throw ApiException.badRequest("bundle has an empty Pareto front: nothing to assign");
                try {
                    m.baseModel().checkFiles(files);
                } catch (IllegalArgumentException e) {
                    throw ApiException.badRequest("the decoder's base model: " + e.getMessage());
                }
                LlamaConfig decoder = LlamaConfig.read(files.get(HfCheckpoint.CONFIG));
                return new Bundle(
                        Kind.DECODER,
                        m.task().name(),
                        m.baseModel().architecture() + " " + m.baseModel().numLayers() + "x"
                                + m.baseModel().hiddenSize() + " (config "
                                + m.baseModel().configSha256().substring(0, 12)
                                + ")",
                        Fronts.ofDecoder(m, decoder));
            }
            BundleManifest m = ModelBundle.read(staging).manifest();
            if (!MiniLmArtifact.ONNX_SHA256.equals(m.baseModel().onnxSha256())) {
                throw ApiException.badRequest(
                        "bundle is for base model " + m.baseModel().name() + " ("
                                + m.baseModel().onnxSha256() + "), which this registry cannot budget");
            }
            if (m.front() == null || m.front().isEmpty())
                throw ApiException.badRequest("bundle has an empty Pareto front: nothing to assign");
            return new Bundle(Kind.ENCODER, m.task().name(), m.baseModel().name(), Fronts.ofEncoder(m));
        } catch (IOException | RuntimeException e) {
            throw ApiException.badRequest("not a valid model bundle: " + e.getMessage());
        }
    }

    /** A version's name: sha256 over its sorted "name sha256" lines. */
    static String versionId(List<FileRef> sortedFiles) {
        StringBuilder lines = new StringBuilder();
        for (FileRef f : sortedFiles)
            lines.append(f.name()).append(' ').append(f.sha256()).append('\n');
        return Sha256.of(lines.toString());
    }
}
