package ai.coalora.generator;

import ai.coalora.engine.quant.ModelQuantConfig;
import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Payloads.AdapterReady;
import ai.coalora.fleet.events.Payloads.Artifact;
import ai.coalora.fleet.events.Payloads.Assignment;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.EventHandler;
import ai.coalora.fleet.messaging.RejectedEvent;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import ai.coalora.fleet.security.FleetKeys;
import ai.coalora.fleet.security.PackageManifest;
import com.fasterxml.jackson.core.type.TypeReference;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns assignments into adapter-ready events. Generation (fold + quantize + upload) runs before the
 * batch's transaction, once per (version, configuration, layout) ever: the packages table remembers what exists.
 * The layout is what the device runs ({@link Layout}): the packed layout of the Java runtime for encoder versions,
 * or GGUF for llama.cpp, under the assignment's type mapping, for decoder versions. Each device then gets its own
 * adapter-ready event pointing at the shared package. Each package generated and stored counts in
 * {@code coalora_adapters_generated_total}.
 */
final class GenerationHandler implements EventHandler {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationHandler.class);
    static final String SOURCE = "/coalora/adapter-generator";

    private final DataSource dataSource;
    private final VersionCache versions;
    private final AdapterPackager packager;
    private final AtomicLong generated = new AtomicLong();
    private final Counter generatedTotal;
    // (version, config) pairs whose assignments cannot be served, with why: their events are dead-lettered
    private final Map<String, String> unservable = new HashMap<>();

    /** How long a signed manifest stays installable: a device offline longer gets a fresh one on its next assignment. */
    static final Duration MANIFEST_VALIDITY = Duration.ofDays(30);

    private final FleetKeys.Online signingKey;

    /** @param signingKey the online key every package manifest is signed with (the root's delegation included) */
    GenerationHandler(
            DataSource dataSource,
            VersionCache versions,
            AdapterPackager packager,
            FleetKeys.Online signingKey,
            MeterRegistry meters) {
        this.dataSource = dataSource;
        this.signingKey = signingKey;
        this.versions = versions;
        this.packager = packager;
        this.generatedTotal = Counter.builder("coalora.adapters.generated")
                .description("Adapter packages generated (folded, quantized, stored): one per (version, configuration)")
                .register(meters);
    }

    long generated() {
        return generated.get();
    }

    @Override
    public void prepare(List<CloudEvent> fresh) throws Exception {
        for (CloudEvent e : fresh) {
            if (!EventTypes.ASSIGNMENT.equals(e.type())) continue;
            Assignment a;
            try {
                a = EventHandler.data(e, Assignment.class);
            } catch (RejectedEvent unreadable) {
                continue; // apply rejects it
            }
            if (!a.feasible()) continue;
            Layout layout = Layout.of(a);
            String key = key(a, layout);
            if (unservable.containsKey(key) || stored(a.modelVersion(), a.configId(), layout)) continue;
            VersionCache.Version v;
            try {
                v = versions.get(a.modelVersion());
            } catch (VersionCache.Unservable u) {
                unservable.put(key, u.getMessage());
                continue;
            }
            ModelQuantConfig config = v.front().get(a.configId());
            if (config == null) {
                unservable.put(
                        key, "configuration " + a.configId() + " is not on the front of version " + a.modelVersion());
                continue;
            }
            String why = layout.cannotServe(v, config);
            if (why != null) {
                unservable.put(key, why);
                continue;
            }
            long t0 = System.nanoTime();
            AdapterPackager.Package p = v instanceof VersionCache.Decoder d
                    ? packager.generate(d, config, layout.types())
                    : packager.generate((VersionCache.Encoder) v, config);
            double ms = (System.nanoTime() - t0) / 1e6;
            store(a.modelVersion(), a.configId(), layout, p, ms);
            generated.incrementAndGet();
            generatedTotal.increment();
            LOG.info(
                    "generated {} bits package {} for version {} in {} ms",
                    String.format("%.3f", p.averageBits()),
                    p.packageSha256().substring(0, 12),
                    a.modelVersion().substring(0, 12),
                    Math.round(ms));
        }
    }

    @Override
    public void apply(CloudEvent event, Transaction tx) throws RejectedEvent, SQLException {
        Assignment a = EventHandler.data(event, Assignment.class);
        if (!a.feasible()) return; // nothing to generate; the registry records the device as unassignable
        Layout layout = Layout.of(a);
        String why = unservable.get(key(a, layout));
        if (why != null) throw new RejectedEvent(why);
        try (PreparedStatement st = tx.connection()
                .prepareStatement("select package_sha256, average_bits, artifacts::text from packages "
                        + "where model_version = ? and config_id = ? and layout = ?")) {
            st.setString(1, a.modelVersion());
            st.setString(2, a.configId());
            st.setString(3, layout.column());
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next())
                    throw new IllegalStateException("package for " + a.configId() + " missing after prepare");
                List<Artifact> artifacts =
                        Payloads.JSON.readValue(rs.getString(3), new TypeReference<List<Artifact>>() {});
                AdapterReady ready = new AdapterReady(
                        a.deviceId(),
                        a.assignmentId(),
                        a.modelVersion(),
                        a.configId(),
                        rs.getDouble(2),
                        rs.getString(1),
                        artifacts,
                        manifest(tx, a, artifacts));
                tx.publish(
                        Topic.ADAPTERS_READY,
                        a.deviceId(),
                        CloudEvent.withId(
                                // random: an id others could guess could be sent first by a forger, making this one
                                // look like its duplicate (the outbox commits it exactly once with the package)
                                UUID.randomUUID().toString(),
                                SOURCE,
                                EventTypes.ADAPTER_READY,
                                a.deviceId(),
                                ServiceRuntime.schemas().dataschema(EventTypes.ADAPTER_READY),
                                Payloads.toJson(ready)));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("stored artifacts are not JSON", e);
            }
        }
    }

    /** The device's signed manifest for this package, numbered above every manifest signed before. */
    private PackageManifest.Signed manifest(Transaction tx, Assignment a, List<Artifact> artifacts)
            throws SQLException {
        long sequence;
        try (PreparedStatement st = tx.connection().prepareStatement("select nextval('manifest_sequence')");
                ResultSet rs = st.executeQuery()) {
            rs.next();
            sequence = rs.getLong(1);
        }
        List<PackageManifest.File> files = artifacts.stream()
                .map(f -> new PackageManifest.File(f.role(), f.name(), f.sha256(), f.bytes()))
                .toList();
        return new PackageManifest(
                        a.modelVersion(),
                        a.configId(),
                        List.of(a.deviceId()),
                        files,
                        sequence,
                        Instant.now().plus(MANIFEST_VALIDITY))
                .sign(signingKey.key(), signingKey.signingKey());
    }

    private static String key(Assignment a, Layout layout) {
        return a.modelVersion() + "/" + a.configId() + "/" + layout.column();
    }

    private boolean stored(String version, String configId, Layout layout) throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select 1 from packages where model_version = ? and config_id = ? and layout = ?")) {
            st.setString(1, version);
            st.setString(2, configId);
            st.setString(3, layout.column());
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    private void store(String version, String configId, Layout layout, AdapterPackager.Package p, double ms)
            throws Exception {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "insert into packages (model_version, config_id, layout, package_sha256, average_bits, "
                                + "artifacts, generate_ms) values (?, ?, ?, ?, ?, ?::jsonb, ?) on conflict do nothing")) {
            st.setString(1, version);
            st.setString(2, configId);
            st.setString(3, layout.column());
            st.setString(4, p.packageSha256());
            st.setDouble(5, p.averageBits());
            st.setString(6, Payloads.JSON.writeValueAsString(p.artifacts()));
            st.setDouble(7, ms);
            st.executeUpdate();
        }
    }
}
