package ai.coalora.fleet.sim;

import ai.coalora.fleet.events.ServiceTopics;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.gateway.GatewayClient;
import ai.coalora.fleet.infra.DatabaseRoles;
import ai.coalora.fleet.infra.EmbeddedDatabase;
import ai.coalora.fleet.infra.EmbeddedKafka;
import ai.coalora.fleet.infra.KafkaPrincipals;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
import ai.coalora.fleet.registry.RegistryClient;
import ai.coalora.fleet.security.Credentials;
import ai.coalora.fleet.security.FleetKeys;
import ai.coalora.fleet.security.Role;
import ai.coalora.fleet.security.Users;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * The whole system on one machine: a real Kafka broker and a real PostgreSQL started from Maven artifacts
 * (in this JVM), and the registry, planner and adapter-generator as separate processes of their packaged
 * applications, configured only through the environment, exactly as against external services.
 */
public final class FleetStack implements AutoCloseable {
    public static final String DATABASE = "coalora";
    public static final List<String> SERVICES = List.of("registry", "planner", "adapter-generator", "trainer");
    /**
     * Accounts of a stack: people by role, then one per service (the trainer may move the canary alias and no other). Devices
     * have no account: each has its own gateway token ({@link #enrol}).
     */
    public static final String ADMIN_USER = "admin", OPERATOR_USER = "operator", VIEWER_USER = "viewer";

    static final Map<String, Role> ACCOUNTS = accounts();
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(3);

    private final Path workDir;
    private volatile EmbeddedKafka kafka;
    private volatile EmbeddedDatabase database;
    private final Map<String, ServiceProcess> services = new LinkedHashMap<>();
    private final List<ServiceProcess> replicas = new ArrayList<>();
    private Admin offsetsAdmin;
    /** The environment variable each service takes its HTTP port from. */
    private static final Map<String, String> PORT_VARIABLES = Map.of(
            "registry", "REGISTRY_HTTP_PORT",
            "planner", "PLANNER_HTTP_PORT",
            "adapter-generator", "GENERATOR_HTTP_PORT",
            "trainer", "TRAINER_HTTP_PORT");

    private final Map<String, Credentials> credentials = new LinkedHashMap<>();
    private GatewayCertificate gatewayCertificate;
    private String gatewayUrl;
    /** The services' Kafka principals (KafkaPrincipals); the admin's comes from the broker. */
    private final Map<String, KafkaConnection> kafkaPrincipals = new LinkedHashMap<>();

    private FleetStack(Path workDir, EmbeddedKafka kafka, EmbeddedDatabase database) {
        this.workDir = workDir;
        this.kafka = kafka;
        this.database = database;
    }

    /** Starts everything under {@code workDir} (data, logs, blobs); {@code progress} hears each step. */
    public static FleetStack start(Path workDir, Consumer<String> progress) throws IOException, InterruptedException {
        return start(workDir, Map.of(), progress);
    }

    /** @param settings extra environment for every service (e.g. COALORA_RETRAINING_MARGIN) */
    public static FleetStack start(Path workDir, Map<String, String> settings, Consumer<String> progress)
            throws IOException, InterruptedException {
        Path root = repositoryRoot();
        Files.createDirectories(workDir.resolve("logs"));
        progress.accept("starting Kafka (KRaft broker from Maven artifacts)");
        EmbeddedKafka kafka = EmbeddedKafka.start(workDir.resolve("kafka"));
        progress.accept("starting PostgreSQL (embedded binaries)");
        EmbeddedDatabase db;
        try {
            db = EmbeddedDatabase.start(workDir.resolve("postgres"), 0);
        } catch (IOException | RuntimeException e) {
            kafka.close();
            throw e;
        }
        Map<String, DatabaseRoles.Login> logins;
        try {
            db.createDatabase(DATABASE);
            // each service its own role, owning its schema only
            logins = DatabaseRoles.provision(db.jdbcUrl(DATABASE), EmbeddedDatabase.USER, "", DATABASE, SERVICES);
        } catch (SQLException | RuntimeException e) {
            db.close();
            kafka.close();
            throw new IOException("could not set up the services' database roles: " + e.getMessage(), e);
        }
        FleetStack stack = new FleetStack(workDir, kafka, db);
        try {
            progress.accept("creating the services' Kafka principals, their ACLs and the topics");
            stack.kafkaPrincipals.putAll(
                    KafkaPrincipals.provision(kafka.admin(), EmbeddedKafka.credentialsDir(kafka.dataDir())));
            Path usersFile = stack.writeUsers();
            // the fleet's signing keys: the generator signs with the online key, devices pin the root
            FleetKeys.init(stack.keysDir(), Duration.ofDays(90));
            int registryPort = freePort(), gatewayPort = freePort();
            // the device gateway answers over HTTPS (a certificate for this machine, pinned by the devices)
            stack.gatewayCertificate = GatewayCertificate.create(stack.keysDir());
            stack.gatewayUrl = "https://127.0.0.1:" + gatewayPort;
            String registryUrl = "http://127.0.0.1:" + registryPort;
            Map<String, Integer> ports = Map.of(
                    "registry",
                    registryPort,
                    "planner",
                    freePort(),
                    "adapter-generator",
                    freePort(),
                    "trainer",
                    freePort());
            for (String name : SERVICES) {
                Map<String, String> env = new LinkedHashMap<>();
                env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
                env.put("KAFKA_SASL_USERNAME", stack.kafka(name).username());
                env.put("KAFKA_SASL_PASSWORD", stack.kafka(name).password());
                env.put("COALORA_JDBC_URL", db.jdbcUrl(DATABASE));
                env.put("COALORA_JDBC_USER", logins.get(name).user());
                env.put("COALORA_JDBC_PASSWORD", logins.get(name).password());
                env.put("COALORA_REGISTRY_URL", registryUrl);
                env.put("COALORA_BLOB_DIR", workDir.resolve("blobs").toString());
                env.put("COALORA_GENERATOR_DIR", workDir.resolve("generator").toString());
                env.put(
                        "COALORA_SIGNING_KEY_FILE",
                        stack.keysDir().resolve(FleetKeys.SIGNING).toString());
                for (String service : SERVICES)
                    env.put(PORT_VARIABLES.get(service), Integer.toString(ports.get(service)));
                env.put("COALORA_TRAINER_DIR", workDir.resolve("trainer").toString());
                env.put("OPT_OUT_TRACKING", "true");
                env.put("COALORA_USERS_FILE", usersFile.toString());
                env.put("COALORA_REGISTRY_USER", name);
                env.put("COALORA_REGISTRY_PASSWORD", stack.credentials(name).password());
                if (name.equals("registry")) {
                    env.put("QUARKUS_HTTP_SSL_PORT", Integer.toString(gatewayPort));
                    env.put(
                            "QUARKUS_TLS_KEY_STORE_P12_PATH",
                            stack.gatewayCertificate.keyStore().toString());
                    env.put("QUARKUS_TLS_KEY_STORE_P12_PASSWORD", stack.gatewayCertificate.password());
                }
                env.putAll(settings);
                Path jar = root.resolve("services").resolve(name).resolve("target/quarkus-app/quarkus-run.jar");
                if (!Files.isRegularFile(jar))
                    throw new IOException("missing " + jar + ": build first (./mvnw -DskipTests install)");
                List<String> jvm = name.equals("adapter-generator") || name.equals("trainer")
                        ? List.of("-Xmx3g", "-Dai.djl.offline=true")
                        : List.of("-Xmx512m");
                stack.services.put(
                        name,
                        new ServiceProcess(
                                name,
                                jar,
                                jvm,
                                env,
                                ports.get(name),
                                workDir.resolve("logs").resolve(name + ".log")));
            }
            // all three start at once (their startup overlaps on two cores), then we wait for each
            for (ServiceProcess s : stack.services.values()) {
                progress.accept("starting " + s.name() + " (" + s.url() + ")");
                s.start();
            }
            for (ServiceProcess s : stack.services.values()) s.awaitReady(READY_TIMEOUT);
            progress.accept("all services ready");
            return stack;
        } catch (IOException | RuntimeException | InterruptedException e) {
            stack.close();
            throw e;
        }
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /**
     * A Kafka connection as one of the stack's principals: a service's (what that service may read and write, see
     * ServiceTopics) or {@link EmbeddedKafka#ADMIN} (everything: the tools that stand in for devices, observe every
     * topic or inject hostile records).
     */
    public KafkaConnection kafka(String principal) {
        if (principal.equals(EmbeddedKafka.ADMIN)) return kafka.admin();
        KafkaConnection c = kafkaPrincipals.get(principal);
        if (c == null)
            throw new IllegalArgumentException(
                    "no Kafka principal " + principal + " in this stack (admin, " + kafkaPrincipals.keySet() + ")");
        return c;
    }

    /** Where a principal's Kafka password is kept (owner-only), for tools started by hand against this stack. */
    public Path kafkaPasswordFile(String principal) throws IOException {
        kafka(principal); // an unknown principal fails here, naming the known ones
        return EmbeddedKafka.credentialsDir(workDir.resolve("kafka")).resolve(principal + ".password");
    }

    /** The Kafka super user's connection. */
    public KafkaConnection kafkaAdmin() {
        return kafka(EmbeddedKafka.ADMIN);
    }

    /** The password of one of the stack's accounts ({@link #ACCOUNTS}); each is random, only its hash is on disk. */
    public Credentials credentials(String user) {
        Credentials c = credentials.get(user);
        if (c == null)
            throw new IllegalArgumentException("no account " + user + " in this stack (" + ACCOUNTS.keySet() + ")");
        return c;
    }

    /** A registry client authenticated as one of the stack's accounts. */
    public RegistryClient registry(String user) {
        return new RegistryClient(registryUrl(), credentials(user));
    }

    /** The device gateway (the registry's device API over HTTPS), as devices reach it: its certificate pinned. */
    public GatewayClient gateway() {
        try {
            return new GatewayClient(gatewayUrl, GatewayClient.certificate(gatewayCertificate.certificate()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The gateway's HTTPS address. */
    public String gatewayUrl() {
        return gatewayUrl;
    }

    /** The gateway's certificate (PEM), what devices pin. */
    public Path gatewayCertificate() {
        return gatewayCertificate.certificate();
    }

    /** Enrols devices (as the operator): each device's own gateway token. */
    public Map<String, String> enrol(Collection<String> deviceIds) throws IOException {
        return registry(OPERATOR_USER).enrol(deviceIds, false);
    }

    private static Map<String, Role> accounts() {
        Map<String, Role> a = new LinkedHashMap<>();
        a.put(ADMIN_USER, Role.ADMIN);
        a.put(OPERATOR_USER, Role.OPERATOR);
        a.put(VIEWER_USER, Role.VIEWER);
        a.put("registry", Role.VIEWER);
        a.put("planner", Role.VIEWER);
        a.put("adapter-generator", Role.OPERATOR);
        a.put("trainer", Role.TRAINER);
        return Collections.unmodifiableMap(a);
    }

    /** Fresh random passwords for every account; the users file holds only their PBKDF2 hashes. */
    private Path writeUsers() throws IOException {
        SecureRandom random = new SecureRandom();
        StringBuilder file = new StringBuilder("# accounts of this fleet stack (name:role:pbkdf2-sha256 hash)\n");
        for (var e : ACCOUNTS.entrySet()) {
            byte[] secret = new byte[18];
            random.nextBytes(secret);
            String password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
            credentials.put(e.getKey(), new Credentials(e.getKey(), password));
            file.append(Users.line(e.getKey(), e.getValue(), password.toCharArray()))
                    .append('\n');
        }
        Path users = workDir.resolve("users");
        Files.writeString(users, file.toString());
        try {
            Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system
        }
        return users;
    }

    public String jdbcUrl() {
        return database.jdbcUrl(DATABASE);
    }

    /** Where the fleet's keys are ({@link FleetKeys}: root, its public half, the online signing key). */
    public Path keysDir() {
        return workDir.resolve("keys");
    }

    /** The root public key devices pin at enrolment. */
    public PublicKey rootKey() throws IOException {
        return FleetKeys.readRootPublic(keysDir().resolve(FleetKeys.ROOT_PUBLIC));
    }

    public String registryUrl() {
        return services.get("registry").url();
    }

    public ServiceProcess service(String name) {
        return services.get(name);
    }

    /** Every service process running now: one per service, then the replicas started since. */
    public synchronized List<ServiceProcess> processes() {
        List<ServiceProcess> all = new ArrayList<>(services.values());
        for (ServiceProcess r : replicas) if (r.isAlive()) all.add(r);
        return all;
    }

    public Path workDir() {
        return workDir;
    }

    /** Kills (SIGKILL) a service and starts it again, waiting until it is ready. */
    public void crashAndRestart(String name) throws IOException, InterruptedException {
        ServiceProcess s = services.get(name);
        s.kill();
        s.start();
        s.awaitReady(READY_TIMEOUT);
    }

    /**
     * Whether nothing is in flight between the services now: every service's outbox is empty and every consumer group
     * has read all that was committed to the topics it reads. False while the broker or the database is away.
     */
    public boolean quiet() {
        try (var c = DriverManager.getConnection(jdbcUrl(), EmbeddedDatabase.USER, "");
                var schemas = c.prepareStatement(
                        "select table_schema from information_schema.tables where table_name = 'outbox'");
                var rs = schemas.executeQuery()) {
            while (rs.next()) {
                try (var count = c.prepareStatement("select exists (select 1 from " + rs.getString(1) + ".outbox)");
                        var pending = count.executeQuery()) {
                    pending.next();
                    if (pending.getBoolean(1)) return false;
                }
            }
        } catch (SQLException away) {
            return false;
        }
        try {
            Admin admin = offsetsAdmin();
            for (ServiceTopics s : ServiceTopics.ALL) {
                Map<TopicPartition, OffsetAndMetadata> read = admin.listConsumerGroupOffsets(s.group())
                        .partitionsToOffsetAndMetadata()
                        .get(10, TimeUnit.SECONDS);
                Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
                for (Topic t : s.reads())
                    for (int p = 0; p < t.partitions(); p++)
                        ends.put(new TopicPartition(t.name(), p), OffsetSpec.latest());
                var committed = admin.listOffsets(ends, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                        .all()
                        .get(10, TimeUnit.SECONDS);
                for (var e : committed.entrySet()) {
                    OffsetAndMetadata at = read.get(e.getKey());
                    if (e.getValue().offset() > (at == null ? 0 : at.offset())) return false;
                }
            }
            return true;
        } catch (ExecutionException | TimeoutException | KafkaException away) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The admin client {@link #quiet} reads offsets with: one per stack (it reconnects across broker restarts). */
    private synchronized Admin offsetsAdmin() {
        if (offsetsAdmin == null) offsetsAdmin = Admin.create(KafkaSettings.admin(kafkaAdmin(), "quiet-check"));
        return offsetsAdmin;
    }

    /**
     * Starts another instance of a service and waits until it is ready: the same application and configuration (so
     * the same consumer group, database role and tables) on ports of its own, as a scale-out adds one. It stops with
     * the stack, or earlier when closed.
     */
    public synchronized ServiceProcess startReplica(String name) throws IOException, InterruptedException {
        ServiceProcess first = services.get(name);
        if (first == null) throw new IllegalArgumentException("no service " + name + " in this stack " + SERVICES);
        int port = freePort();
        Map<String, Integer> ports = new LinkedHashMap<>(Map.of(PORT_VARIABLES.get(name), port));
        if (name.equals("registry")) ports.put("QUARKUS_HTTP_SSL_PORT", freePort()); // its own gateway port too
        ServiceProcess replica = first.replica(
                port, ports, workDir.resolve("logs").resolve(name + "-" + (replicas.size() + 2) + ".log"));
        replicas.add(replica);
        replica.start();
        replica.awaitReady(READY_TIMEOUT);
        return replica;
    }

    /**
     * Stops the broker (a clean shutdown) and starts it again on the same port and data: what a broker restart is to
     * the services, whose clients reconnect on their own.
     */
    public synchronized void restartKafka() throws IOException {
        int port = kafka.port();
        kafka.close();
        kafka = EmbeddedKafka.start(workDir.resolve("kafka"), port);
    }

    /**
     * Takes the broker away for {@code downtime} (stopped, then started again on the same port and data): an outage
     * longer than the producers' delivery timeout makes their in-flight batches expire, to be re-sent.
     */
    public synchronized void kafkaOutage(Duration downtime) throws IOException, InterruptedException {
        int port = kafka.port();
        kafka.close();
        Thread.sleep(downtime.toMillis());
        kafka = EmbeddedKafka.start(workDir.resolve("kafka"), port);
    }

    /**
     * Takes PostgreSQL away (fast shutdown: sessions are cut, committed data stays), runs {@code meanwhile}, and starts
     * it again on the same port and data directory; the services' pools reconnect, their event loops resume from the
     * committed offsets.
     */
    public synchronized void databaseOutage(Outage meanwhile) throws Exception {
        int port = database.port();
        database.close();
        try {
            meanwhile.run();
        } finally {
            database = EmbeddedDatabase.start(workDir.resolve("postgres"), port);
        }
    }

    /** What happens while something of the stack is away. */
    public interface Outage {
        void run() throws Exception;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (offsetsAdmin != null) offsetsAdmin.close(Duration.ofSeconds(5));
        }
        List<ServiceProcess> all = new ArrayList<>(replicas);
        all.addAll(services.values());
        for (ServiceProcess s : all) {
            try {
                s.stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        database.close();
        kafka.close();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The checkout the services were built in: -Dcoalora.root, else the nearest parent with services/registry. */
    public static Path repositoryRoot() throws IOException {
        String configured = System.getProperty("coalora.root");
        if (configured != null) return Path.of(configured).toAbsolutePath();
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("services/registry/pom.xml"))) return p;
        }
        throw new IOException("cannot find the repository (set -Dcoalora.root)");
    }
}
