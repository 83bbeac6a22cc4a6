package ai.coalora.registry;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.Payloads;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agroal.api.AgroalDataSource;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * What devices may do, on their own behalf only: announce capabilities, report update status and evaluation telemetry
 * (each becomes the fleet event of that type, with the device id taken from the credential and a random event id,
 * published through the registry's outbox), fetch their current package and download its files. Kafka stays internal
 * to the services: this is the only way in for a device.
 */
@ApplicationScoped
public class DeviceGateway {
    /** Events published for devices carry this source. */
    static final String SOURCE = GatewayClient.EVENT_SOURCE;
    /** The largest report a device may post (the consumers' limit on an event). */
    static final int MAX_REPORT_BYTES = 256 * 1024;

    /** What a device may report, by the path it posts to. */
    enum Report {
        CAPABILITIES(EventTypes.CAPABILITIES, Topic.CAPABILITIES),
        STATUS(EventTypes.DEVICE_STATUS, Topic.DEVICE_STATUS),
        TELEMETRY(EventTypes.TELEMETRY, Topic.TELEMETRY);

        final String type;
        final Topic topic;

        Report(String type, Topic topic) {
            this.type = type;
            this.topic = topic;
        }
    }

    /** A device's current package: the adapter-ready as generated, and the id of that event (its ETag). */
    public record Package(String etag, JsonNode adapterReady) {}

    final AgroalDataSource dataSource;
    final RegistryService service;
    /** Package requests held open, by device: completed when the device's package changes. */
    private final Map<String, List<CompletableFuture<Void>>> waiting = new ConcurrentHashMap<>();
    /** Reads the package for answers whose wait ended (a database read: never on the event loop or a timer). */
    private final ExecutorService readers = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "gateway-packages");
        t.setDaemon(true);
        return t;
    });

    DeviceGateway(AgroalDataSource dataSource, RegistryService service) {
        this.dataSource = dataSource;
        this.service = service;
        if (service != null) service.onPackageChanged(this::packageChanged);
    }

    /**
     * Publishes what {@code device} reports. A body naming another device is a 403 (a device speaks only for itself);
     * one that is not JSON, is too large or fails the event's schema is a 400/413 with the reason, and nothing is
     * published.
     *
     * @return the id of the event published
     */
    public String report(String device, Report what, InputStream body) throws ApiException, SQLException {
        byte[] bytes;
        try {
            bytes = body.readNBytes(MAX_REPORT_BYTES + 1);
        } catch (IOException e) {
            throw ApiException.badRequest("could not read the body: " + e.getMessage());
        }
        if (bytes.length > MAX_REPORT_BYTES)
            throw ApiException.tooLarge("a device report is at most " + MAX_REPORT_BYTES + " bytes");
        JsonNode data;
        try {
            data = Payloads.JSON.readTree(bytes);
        } catch (IOException e) {
            throw ApiException.badRequest("the body is not JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
        if (data == null || !data.isObject()) throw ApiException.badRequest("the body must be a JSON object");
        JsonNode claimed = data.get("deviceId");
        if (claimed != null && !claimed.isNull() && !device.equals(claimed.asText()))
            throw ApiException.forbidden(
                    "this credential belongs to device " + device + ", which cannot speak for " + claimed);
        ((ObjectNode) data).put("deviceId", device); // stamped from the credential, never taken from the body
        List<String> problems = ServiceRuntime.schemas().validate(what.type, data);
        if (!problems.isEmpty())
            throw ApiException.badRequest("schema " + what.type + ": " + String.join("; ", problems));
        CloudEvent event = CloudEvent.create(
                SOURCE, what.type, device, ServiceRuntime.schemas().dataschema(what.type), data);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                new Transaction(c, ServiceRuntime.schemas()).publish(what.topic, device, event);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
        service.published();
        return event.id();
    }

    /** The device's current package, if one was generated for it. */
    public Optional<Package> currentPackage(String device) throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement("select adapter_event_id, adapter_ready from devices "
                        + "where device_id = ? and adapter_ready is not null")) {
            st.setString(1, device);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) return Optional.empty();
                return Optional.of(new Package(rs.getString(1), Payloads.JSON.readTree(rs.getString(2))));
            } catch (IOException e) {
                throw new SQLException("stored adapter-ready of " + device + " is not JSON", e);
            }
        }
    }

    /**
     * The device's package once its ETag differs from {@code etag}: at once if it does already, else when it changes
     * or after {@code wait} (empty). The wait is registered before the package is read, so a change in between is
     * never missed.
     */
    public CompletableFuture<Optional<Package>> awaitPackage(String device, String etag, Duration wait)
            throws SQLException {
        CompletableFuture<Void> changed = new CompletableFuture<>();
        waiting.compute(device, (d, list) -> {
            List<CompletableFuture<Void>> l = list == null ? new CopyOnWriteArrayList<>() : list;
            l.add(changed);
            return l;
        });
        Optional<Package> now;
        try {
            now = currentPackage(device);
        } catch (SQLException | RuntimeException e) {
            forget(device, changed);
            throw e;
        }
        if (now.isPresent() && !now.get().etag().equals(etag) || wait.isZero()) {
            forget(device, changed);
            return CompletableFuture.completedFuture(now.filter(p -> !p.etag().equals(etag)));
        }
        return changed.completeOnTimeout(null, wait.toMillis(), TimeUnit.MILLISECONDS)
                .handle((v, e) -> {
                    forget(device, changed);
                    return null;
                })
                .thenApplyAsync(
                        v -> {
                            try {
                                return currentPackage(device)
                                        .filter(p -> !p.etag().equals(etag));
                            } catch (SQLException e) {
                                throw new CompletionException(
                                        e); // unwrapped for the answer: a 503 if the database is away
                            }
                        },
                        readers);
    }

    /** Whether {@code sha256} is a file of the device's current package (the only blobs a device may download). */
    public boolean mayDownload(String device, String sha256) throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(
                        "select 1 from devices d, "
                                + "jsonb_array_elements(d.adapter_ready->'artifacts') a where d.device_id = ? and a->>'sha256' = ?")) {
            st.setString(1, device);
            st.setString(2, sha256);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    @PreDestroy
    void close() {
        readers.shutdownNow();
    }

    private void packageChanged(String device) {
        List<CompletableFuture<Void>> w = waiting.get(device);
        if (w != null) for (CompletableFuture<Void> f : w) f.complete(null);
    }

    private void forget(String device, CompletableFuture<Void> f) {
        waiting.computeIfPresent(device, (d, list) -> {
            list.remove(f);
            return list.isEmpty() ? null : list;
        });
    }
}
