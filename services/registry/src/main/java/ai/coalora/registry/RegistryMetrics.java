package ai.coalora.registry;

import ai.coalora.fleet.planning.QualityMeasure;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The registry's Prometheus metrics; none has a per-device label.
 * <ul>
 *   <li>{@code coalora_rollouts{state}}, {@code coalora_devices{status}} and, per quality measure,
 *       {@code coalora_telemetry_accuracy{bit_segment}} and {@code coalora_telemetry_perplexity{bit_segment}}: gauges
 *       from the database, all from ONE query refreshed every {@code coalora.registry.metrics.refresh-seconds} (5 s) on a
 *       thread of their own, never per scrape. The query reads rollouts and devices (one row per device:
 *       {@code devices.telemetry_quality} holds each device's latest quality, in {@code telemetry_measure}), never the
 *       telemetry history.</li>
 *   <li>{@code coalora_telemetry_reports_total} and {@code coalora_retraining_requests_total{trigger}}: counted when the
 *       event transaction that recorded them committed.</li>
 * </ul>
 */
@ApplicationScoped
public class RegistryMetrics {
    private static final Logger LOG = Logger.getLogger(RegistryMetrics.class);
    static final List<String> ROLLOUT_STATES =
            Arrays.stream(RolloutState.values()).map(RolloutState::sql).toList();
    static final List<String> DEVICE_STATUSES =
            List.of("pending", "unassignable", "assigned", "ready", "running", "failed");
    static final List<String> TRIGGERS = List.of("quality", "coverage");

    /** One query: (family, label, value) rows for the three gauges. */
    static final String SNAPSHOT = "select 'rollouts', state, count(*)::float8 from rollouts group by state "
            + "union all select 'devices', " + Fleet.STATUS + ", count(*)::float8 from devices group by 2 "
            + "union all select telemetry_measure, (floor(telemetry_average_bits * 2) / 2)::text, avg(telemetry_quality) "
            + "from devices where telemetry_quality is not null and telemetry_average_bits is not null group by 1, 2";

    @ConfigProperty(name = "coalora.registry.metrics.refresh-seconds", defaultValue = "5")
    int refreshSeconds;

    final AgroalDataSource dataSource;
    final MeterRegistry meters;
    private final Counter telemetryReports;
    private final Map<String, Counter> retrainingRequests = new HashMap<>();
    private final GaugeFamily rollouts, devices;
    private final Map<QualityMeasure, GaugeFamily> quality = new EnumMap<>(QualityMeasure.class);
    private ScheduledExecutorService refresher;

    RegistryMetrics(AgroalDataSource dataSource, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.meters = meters;
        telemetryReports = Counter.builder("coalora.telemetry.reports")
                .description("Evaluation telemetry reports recorded")
                .register(meters);
        for (String trigger : TRIGGERS) {
            retrainingRequests.put(
                    trigger,
                    Counter.builder("coalora.retraining.requests")
                            .description(
                                    "Retraining requests raised, by trigger: quality (the fleet's measurements fall short of the "
                                            + "prediction), coverage (front gaps)")
                            .tag("trigger", trigger)
                            .register(meters));
        }
        rollouts = new GaugeFamily("coalora.rollouts", "state", "Rollouts by state", ROLLOUT_STATES);
        devices = new GaugeFamily(
                "coalora.devices", "status", "Devices by status, as the fleet summary computes it", DEVICE_STATUSES);
        for (QualityMeasure m : QualityMeasure.values())
            quality.put(
                    m,
                    new GaugeFamily(
                            "coalora.telemetry." + m.jsonName(),
                            "bit_segment",
                            "Mean of each device's latest measured " + m.jsonName()
                                    + " (versions in that measure), by half-bit segment of its configuration's average bits",
                            List.of()));
    }

    void start(@Observes StartupEvent ignored) {
        refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "coalora-registry-metrics");
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(this::refresh, 0, Math.max(1, refreshSeconds), TimeUnit.SECONDS);
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (refresher != null) refresher.shutdownNow();
    }

    void telemetryReported() {
        telemetryReports.increment();
    }

    /** @param trigger quality or coverage */
    void retrainingRequested(String trigger) {
        retrainingRequests
                .computeIfAbsent(
                        trigger,
                        t -> Counter.builder("coalora.retraining.requests")
                                .tag("trigger", t)
                                .register(meters))
                .increment();
    }

    /** Reads the three gauges' values in one query; a failure keeps the previous values (and is logged). */
    void refresh() {
        Map<String, Double> byState = new HashMap<>(), byStatus = new HashMap<>();
        Map<QualityMeasure, Map<String, Double>> bySegment = new EnumMap<>(QualityMeasure.class);
        for (QualityMeasure m : QualityMeasure.values()) bySegment.put(m, new HashMap<>());
        try (Connection c = dataSource.getConnection();
                PreparedStatement st = c.prepareStatement(SNAPSHOT);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                String family = rs.getString(1), label = rs.getString(2);
                double value = rs.getDouble(3);
                switch (family) {
                    case "rollouts" -> byState.put(label, value);
                    case "devices" -> byStatus.put(label, value);
                    default ->
                        bySegment.get(QualityMeasure.fromJson(family)).put(segment(Double.parseDouble(label)), value);
                }
            }
        } catch (SQLException | RuntimeException e) {
            LOG.debugf("metrics not refreshed: %s", e);
            return;
        }
        rollouts.set(byState);
        devices.set(byStatus);
        quality.forEach((m, family) -> family.set(bySegment.get(m)));
    }

    /** The half-bit segment starting at {@code from}, e.g. "3.0-3.5". */
    static String segment(double from) {
        return String.format(Locale.ROOT, "%.1f-%.1f", from, from + 0.5);
    }

    /**
     * Gauges of one name with one label. Fixed label values always exist (0 when absent from the query); others
     * appear when the query has them and are removed when it no longer does.
     */
    private final class GaugeFamily {
        final String name, label, description;
        final List<String> fixed;
        // strongly held: Micrometer keeps only weak references to a gauge's state
        final Map<String, AtomicReference<Double>> values = new ConcurrentHashMap<>();
        final Map<String, Gauge> gauges = new ConcurrentHashMap<>();

        GaugeFamily(String name, String label, String description, List<String> fixed) {
            this.name = name;
            this.label = label;
            this.description = description;
            this.fixed = fixed;
            for (String v : fixed) holder(v);
        }

        void set(Map<String, Double> now) {
            for (String v : fixed) holder(v).set(now.getOrDefault(v, 0.0));
            now.forEach((v, x) -> holder(v).set(x));
            for (String v : List.copyOf(gauges.keySet())) {
                if (!now.containsKey(v) && !fixed.contains(v)) {
                    meters.remove(gauges.remove(v));
                    values.remove(v);
                }
            }
        }

        private AtomicReference<Double> holder(String v) {
            return values.computeIfAbsent(v, k -> {
                AtomicReference<Double> h = new AtomicReference<>(0.0);
                gauges.put(
                        k,
                        Gauge.builder(name, h, AtomicReference::get)
                                .description(description)
                                .tag(label, k)
                                .register(meters));
                return h;
            });
        }
    }
}
