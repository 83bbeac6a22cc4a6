package ai.coalora.fleet.infra;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real single-node Kafka broker (KRaft, broker and controller in one process) inside this JVM,
 * listening on 127.0.0.1 only. The data directory survives restarts: it is formatted once and reused.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final KafkaRaftServer server;
    private final int port;
    private boolean closed;

    private EmbeddedKafka(KafkaRaftServer server, int port) {
        this.server = server;
        this.port = port;
    }

    /** Starts a broker on a free port. */
    public static EmbeddedKafka start(Path dataDir) throws IOException {
        return start(dataDir, 0);
    }

    /** Starts a broker on {@code brokerPort} (0 = a free port); a restart passes the old port so clients keep their address. */
    public static EmbeddedKafka start(Path dataDir, int brokerPort) throws IOException {
        Files.createDirectories(dataDir);
        int port = brokerPort == 0 ? freePort() : brokerPort;
        // The controller port is internal: the static voter set lives in the config, not in the log, so it may change.
        Path logDir = dataDir.toAbsolutePath().resolve("log");
        Properties props = serverProperties(logDir, port, freePort());
        Path propsFile = dataDir.resolve("server.properties");
        try (Writer w = Files.newBufferedWriter(propsFile)) {
            props.store(w, "written by EmbeddedKafka on every start");
        }
        // Format once; a formatted dir keeps its cluster id (format --ignore-formatted still rejects a new one).
        if (!Files.exists(logDir.resolve("meta.properties"))) {
            format(propsFile);
        }

        EmbeddedKafka kafka =
                new EmbeddedKafka(new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM), port);
        try {
            kafka.server.startup();
            kafka.awaitReady();
        } catch (RuntimeException e) {
            kafka.close(); // a failed broker start (port in use) leaves the controller running otherwise
            throw e;
        }
        return kafka;
    }

    /** Configuration of a one-node cluster; the same keys deploy/kafka.sh writes. */
    static Properties serverProperties(Path logDir, int brokerPort, int controllerPort) {
        Properties p = new Properties();
        p.putAll(Map.ofEntries(
                Map.entry("process.roles", "broker,controller"),
                Map.entry("node.id", "1"),
                Map.entry("controller.quorum.voters", "1@127.0.0.1:" + controllerPort),
                Map.entry(
                        "listeners",
                        "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort),
                Map.entry("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort),
                Map.entry("controller.listener.names", "CONTROLLER"),
                Map.entry("inter.broker.listener.name", "PLAINTEXT"),
                Map.entry("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
                Map.entry("log.dirs", logDir.toString()),
                // One broker: internal topics cannot have more than one replica; transactions need min ISR 1.
                Map.entry("offsets.topic.replication.factor", "1"),
                Map.entry("transaction.state.log.replication.factor", "1"),
                Map.entry("transaction.state.log.min.isr", "1"),
                Map.entry("share.coordinator.state.topic.replication.factor", "1"),
                Map.entry("share.coordinator.state.topic.min.isr", "1"),
                // 50 partitions each (the default) only slow the first group and transaction down on one broker.
                Map.entry("offsets.topic.num.partitions", "1"),
                Map.entry("transaction.state.log.num.partitions", "1"),
                // Topics are created on purpose, with their configs (compaction, retention), never by a typo.
                Map.entry("auto.create.topics.enable", "false"),
                // No point waiting for more group members in development and tests.
                Map.entry("group.initial.rebalance.delay.ms", "0"),
                Map.entry("num.partitions", "1")));
        return p;
    }

    /** Writes meta.properties and the bootstrap metadata (a new cluster id, the latest metadata.version). */
    private static void format(Path propsFile) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc;
        try (PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            rc = StorageTool.execute(
                    new String[] {
                        "format", "--cluster-id", Uuid.randomUuid().toString(), "--config", propsFile.toString()
                    },
                    ps);
        } catch (RuntimeException e) {
            throw new IllegalStateException("kafka storage format failed: " + out.toString(StandardCharsets.UTF_8), e);
        }
        if (rc != 0) {
            throw new IllegalStateException(
                    "kafka storage format failed (" + rc + "): " + out.toString(StandardCharsets.UTF_8));
        }
    }

    /** startup() returns before the broker is unfenced; a cluster description is the first thing clients need. */
    private void awaitReady() {
        awaitReady(bootstrapServers(), READY_TIMEOUT);
    }

    /** Waits until a broker at {@code bootstrapServers} answers describeCluster (also used by deploy/kafka.sh). */
    public static void awaitReady(String bootstrapServers, Duration timeout) {
        Map<String, Object> conf = Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                (int) timeout.toMillis());
        try (Admin admin = Admin.create(conf)) {
            admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for kafka", e);
        } catch (Exception e) {
            throw new IllegalStateException("kafka did not become ready on " + bootstrapServers, e);
        }
    }

    /** {@code EmbeddedKafka await HOST:PORT [SECONDS]}: exit 0 once a broker there is ready, 1 on timeout. */
    public static void main(String[] args) {
        if (args.length < 2 || !args[0].equals("await")) {
            System.err.println("usage: EmbeddedKafka await HOST:PORT [SECONDS]");
            System.exit(2);
        }
        try {
            awaitReady(args[1], Duration.ofSeconds(args.length > 2 ? Long.parseLong(args[2]) : 60));
        } catch (IllegalStateException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Controlled shutdown; returns once all threads are stopped and the log is closed, so the data dir can be reused. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.shutdown();
        server.awaitShutdown();
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
