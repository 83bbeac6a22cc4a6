package ai.coalora.fleet.infra;

import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
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
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.security.plain.PlainLoginModule;
import org.apache.kafka.common.utils.Time;

/**
 * A real single-node Kafka broker (KRaft, broker and controller in one process) inside this JVM, listening on
 * 127.0.0.1 only, closed: every connection authenticates and every request is authorized.
 *
 * <ul>
 *   <li>The client listener speaks SASL SCRAM-SHA-512; users and ACLs live in the cluster's metadata
 *       ({@link KafkaPrincipals} creates the services'). The broker talks to itself (transaction markers) through it
 *       as {@link #ADMIN}.
 *   <li>The controller listener speaks SASL PLAIN with the one user {@link #ADMIN}, from the broker's own
 *       configuration: SCRAM users are metadata, which a controller cannot consult before it has loaded it.
 *   <li>KRaft's {@code StandardAuthorizer} with {@code allow.everyone.if.no.acl.found=false}: only ACLs grant anything;
 *       {@link #ADMIN} is the super user.
 * </ul>
 *
 * The admin's password is made once, kept owner-only in {@code credentials/admin.password} of the data directory and
 * bootstrapped as its SCRAM credential when the directory is formatted; the data directory survives restarts: it is
 * formatted once and reused, users, ACLs and topics with it.
 */
public final class EmbeddedKafka implements AutoCloseable {
    /** The super user: the broker itself, and whoever provisions users, ACLs and topics. */
    public static final String ADMIN = "admin";

    static final String CREDENTIALS = "credentials";
    private static final String STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final KafkaRaftServer server;
    private final int port;
    private final int controllerPort;
    private final Path dataDir;
    private final KafkaConnection admin;
    private boolean closed;

    private EmbeddedKafka(KafkaRaftServer server, int port, int controllerPort, Path dataDir, String adminPassword) {
        this.server = server;
        this.port = port;
        this.controllerPort = controllerPort;
        this.dataDir = dataDir;
        this.admin = KafkaConnection.scram(bootstrapServers(), ADMIN, adminPassword);
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
        int controllerPort = freePort();
        Path logDir = dataDir.toAbsolutePath().resolve("log");
        boolean formatted = Files.exists(logDir.resolve("meta.properties"));
        Path passwordFile = credentialsDir(dataDir).resolve(ADMIN + ".password");
        if (formatted && !Files.isRegularFile(passwordFile))
            throw new IllegalStateException(
                    dataDir + " holds a Kafka log formatted without an admin credential (a broker"
                            + " without authentication); move it away to start an authenticated broker from empty");
        String adminPassword = readOrCreateSecret(passwordFile);
        Properties props = serverProperties(logDir, port, controllerPort, adminPassword);
        // the file holds the admin's password (the listeners' login configuration): owner-only like the password file
        Path propsFile = dataDir.resolve("server.properties");
        createOwnerOnly(propsFile);
        try (Writer w = Files.newBufferedWriter(propsFile)) {
            props.store(w, "written by EmbeddedKafka on every start");
        }
        // Format once; a formatted dir keeps its cluster id (format --ignore-formatted still rejects a new one).
        if (!formatted) {
            format(propsFile, adminPassword);
        }

        EmbeddedKafka kafka = new EmbeddedKafka(
                new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM),
                port,
                controllerPort,
                dataDir,
                adminPassword);
        try {
            kafka.server.startup();
            kafka.awaitReady();
        } catch (RuntimeException e) {
            kafka.close(); // a failed broker start (port in use) leaves the controller running otherwise
            throw e;
        }
        return kafka;
    }

    /** Configuration of a one-node closed cluster. */
    static Properties serverProperties(Path logDir, int brokerPort, int controllerPort, String adminPassword) {
        String scram = KafkaConnection.MECHANISM.toLowerCase(Locale.ROOT);
        Properties p = new Properties();
        p.putAll(Map.ofEntries(
                Map.entry("process.roles", "broker,controller"),
                Map.entry("node.id", "1"),
                Map.entry("controller.quorum.voters", "1@127.0.0.1:" + controllerPort),
                Map.entry(
                        "listeners", "CLIENT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort),
                Map.entry("advertised.listeners", "CLIENT://127.0.0.1:" + brokerPort),
                Map.entry("controller.listener.names", "CONTROLLER"),
                Map.entry("inter.broker.listener.name", "CLIENT"),
                Map.entry("listener.security.protocol.map", "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"),
                // clients and the broker itself: SCRAM, users from the metadata
                Map.entry("listener.name.client.sasl.enabled.mechanisms", KafkaConnection.MECHANISM),
                Map.entry("sasl.mechanism.inter.broker.protocol", KafkaConnection.MECHANISM),
                Map.entry(
                        "listener.name.client." + scram + ".sasl.jaas.config",
                        KafkaConnection.jaasConfig(ADMIN, adminPassword)),
                // broker to controller: PLAIN with the one user this file names
                Map.entry("listener.name.controller.sasl.enabled.mechanisms", "PLAIN"),
                Map.entry("sasl.mechanism.controller.protocol", "PLAIN"),
                Map.entry("listener.name.controller.plain.sasl.jaas.config", plainJaas(adminPassword)),
                // nothing is allowed that an ACL does not grant
                Map.entry("authorizer.class.name", STANDARD_AUTHORIZER),
                Map.entry("allow.everyone.if.no.acl.found", "false"),
                Map.entry("super.users", "User:" + ADMIN),
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

    /** The controller's PLAIN login: the broker logs in as admin, and admin is the only user the controller knows. */
    private static String plainJaas(String adminPassword) {
        String pw = quote(adminPassword);
        return PlainLoginModule.class.getName() + " required username=\"" + ADMIN + "\" password=\"" + pw + "\" user_"
                + ADMIN + "=\"" + pw + "\";";
    }

    private static String quote(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /**
     * Writes meta.properties and the bootstrap metadata (a new cluster id, the latest metadata.version) with the
     * admin's SCRAM credential, so the broker's first login already finds it.
     */
    private static void format(Path propsFile, String adminPassword) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc;
        try (PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            rc = StorageTool.execute(
                    new String[] {
                        "format",
                        "--cluster-id",
                        Uuid.randomUuid().toString(),
                        "--config",
                        propsFile.toString(),
                        "--add-scram",
                        KafkaConnection.MECHANISM + "=[name=" + ADMIN + ",password=" + adminPassword + "]"
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
        awaitReady(admin, READY_TIMEOUT);
    }

    /** Waits until the brokers of {@code kafka} answer describeCluster as its principal. */
    public static void awaitReady(KafkaConnection kafka, Duration timeout) {
        Properties conf = KafkaSettings.admin(kafka, "await-ready");
        conf.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        try (Admin admin = Admin.create(conf)) {
            admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for kafka", e);
        } catch (Exception e) {
            throw new IllegalStateException("kafka did not become ready on " + kafka.bootstrapServers(), e);
        }
    }

    /** Where the admin's password (and {@link KafkaPrincipals}' service passwords) are kept: owner-only. */
    public static Path credentialsDir(Path dataDir) throws IOException {
        Path dir = dataDir.resolve(CREDENTIALS);
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            try {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
        }
        return dir;
    }

    /** The secret in {@code file}, or a new random one written there (owner-only) when there is none. */
    static String readOrCreateSecret(Path file) throws IOException {
        if (Files.isRegularFile(file)) {
            String s = Files.readString(file).strip();
            if (!s.isEmpty()) return s;
        }
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        // URL-safe base64: no quote, comma or bracket that a JAAS line or the format tool's --add-scram would misread
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        createOwnerOnly(tmp);
        Files.writeString(tmp, password + "\n");
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return password;
    }

    /** Creates (or truncates) {@code file} readable by its owner only, before anything secret is written to it. */
    static void createOwnerOnly(Path file) throws IOException {
        if (!Files.exists(file)) {
            try {
                Files.createFile(
                        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                return;
            } catch (UnsupportedOperationException e) {
                Files.createFile(file);
            }
        }
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** The controller listener (SASL PLAIN, admin only); it changes at every start. */
    public int controllerPort() {
        return controllerPort;
    }

    /** The super user's connection: creates users, ACLs and topics. */
    public KafkaConnection admin() {
        return admin;
    }

    public Path dataDir() {
        return dataDir;
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
