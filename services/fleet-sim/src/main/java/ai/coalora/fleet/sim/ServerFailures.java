package ai.coalora.fleet.sim;

import java.io.IOException;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What the servers did wrong while a fleet stack was under faults, counted on the servers' side: HTTP 5xx answers of
 * every service by status (its {@code http_server_requests_seconds_count}, the operator API and the device gateway
 * alike; the services' own /q endpoints aside, where a 503 is a readiness answer) and PostgreSQL deadlocks
 * ({@code pg_stat_database.deadlocks}). These counters start again from zero when their process does, so they are
 * sampled every two seconds and just before each deliberate restart ({@link #sample}); a new process start time (or
 * a drop) begins a new life of the counter.
 */
final class ServerFailures implements AutoCloseable {
    private static final String DEADLOCKS = "postgresql deadlocks";

    private final FleetStack stack;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Double> started = new ConcurrentHashMap<>(); // each service's process start time
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "server-failures");
        t.setDaemon(true);
        return t;
    });

    /** A counter that may start again from zero: its total over every life of its process. */
    static final class Counter {
        private double last, total;

        synchronized void observe(double value) {
            total += value >= last ? value - last : value;
            last = value;
        }

        /** The process started again: what it counts from now on is new. */
        synchronized void restarted() {
            last = 0;
        }

        synchronized long total() {
            return Math.round(total);
        }
    }

    ServerFailures(FleetStack stack) {
        this.stack = stack;
        sample();
        sampler.scheduleWithFixedDelay(this::sample, 2, 2, TimeUnit.SECONDS);
    }

    /** Reads every counter now (whatever is away is read at the next sample). */
    synchronized void sample() {
        for (ServiceProcess p : stack.processes()) {
            String service = p.name() + (p == stack.service(p.name()) ? "" : " (replica " + p.url() + ")");
            try {
                PrometheusScrape m = PrometheusScrape.fetch(p.url());
                double start = m.sum("process_start_time_seconds", Map.of());
                Double before = started.put(service, start);
                if (before != null && before != start)
                    for (var e : counters.entrySet())
                        if (e.getKey().startsWith(service + " ")) e.getValue().restarted();
                Map<String, Double> byStatus = new TreeMap<>();
                for (PrometheusScrape.Sample s : m.samples("http_server_requests_seconds_count", Map.of())) {
                    String status = s.labels().getOrDefault("status", "");
                    if (status.startsWith("5")
                            && !s.labels().getOrDefault("uri", "").startsWith("/q/"))
                        byStatus.merge(status, s.value(), Double::sum);
                }
                for (var e : byStatus.entrySet())
                    counters.computeIfAbsent(service + " " + e.getKey(), k -> new Counter())
                            .observe(e.getValue());
            } catch (IOException | RuntimeException away) {
                // restarting: its counters are read again once it is back
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        try (var c = DriverManager.getConnection(stack.jdbcUrl(), "postgres", "");
                var st = c.prepareStatement(
                        "select deadlocks from pg_stat_database where datname = current_database()");
                var rs = st.executeQuery()) {
            if (rs.next())
                counters.computeIfAbsent(DEADLOCKS, k -> new Counter()).observe(rs.getLong(1));
        } catch (SQLException away) {
            // the database is restarting
        }
    }

    /** HTTP answers with {@code status} (e.g. 500) from every service so far. */
    long answers(int status) {
        long n = 0;
        for (var e : counters.entrySet())
            if (e.getKey().endsWith(" " + status)) n += e.getValue().total();
        return n;
    }

    /** Every 5xx answer so far, by service and status (e.g. "registry 503"). */
    Map<String, Long> serverErrors() {
        Map<String, Long> m = new TreeMap<>();
        for (var e : counters.entrySet())
            if (!e.getKey().equals(DEADLOCKS)) m.put(e.getKey(), e.getValue().total());
        return m;
    }

    /** Transactions PostgreSQL aborted as deadlocked so far. */
    long deadlocks() {
        Counter c = counters.get(DEADLOCKS);
        return c == null ? 0 : c.total();
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
