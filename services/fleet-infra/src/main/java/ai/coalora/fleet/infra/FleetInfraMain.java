package ai.coalora.fleet.infra;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Runs a Kafka broker and/or PostgreSQL until SIGTERM/SIGINT, for the demo and for running services by hand.
 * Prints (and optionally writes to an env file) the variables the services read: {@code KAFKA_BOOTSTRAP_SERVERS} and
 * {@code COALORA_JDBC_URL}, and {@code KAFKA_CREDENTIALS_DIR}: the broker authenticates every client, and this
 * directory holds (owner-only) {@code admin.password} and one {@code <service>.password} per service principal
 * ({@link KafkaPrincipals} creates them, their ACLs and every topic at each start; passwords are kept).
 */
public final class FleetInfraMain {

    private static final String USAGE = """
            usage: FleetInfraMain [--kafka] [--postgres] [--data DIR] [--kafka-port N] [--postgres-port N] [--env-file FILE]
              --kafka, --postgres  what to start (default: both)
              --data DIR           data directory, kept across restarts (default: ${XDG_CACHE_HOME:-~/.cache}/coalora/infra)
              --kafka-port N       broker port on 127.0.0.1 (default 0: a free port)
              --postgres-port N    PostgreSQL port on 127.0.0.1 (default 0: a free port)
              --env-file FILE      also write the KEY=VALUE lines to FILE""";

    public static void main(String[] args) throws Exception {
        boolean kafka = false;
        boolean postgres = false;
        Path data = defaultDataDir();
        int kafkaPort = 0;
        int postgresPort = 0;
        Path envFile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--kafka" -> kafka = true;
                case "--postgres" -> postgres = true;
                case "--data" -> data = Path.of(value(args, ++i));
                case "--kafka-port" -> kafkaPort = Integer.parseInt(value(args, ++i));
                case "--postgres-port" -> postgresPort = Integer.parseInt(value(args, ++i));
                case "--env-file" -> envFile = Path.of(value(args, ++i));
                case "-h", "--help" -> {
                    System.out.println(USAGE);
                    return;
                }
                default -> usageError("unknown argument " + args[i]);
            }
        }
        if (!kafka && !postgres) {
            kafka = postgres = true;
        }

        // Closed in reverse start order, by the shutdown hook or when a later start fails.
        Deque<AutoCloseable> running = new ArrayDeque<>();
        List<String> env = new ArrayList<>();
        try {
            if (postgres) {
                EmbeddedDatabase db = EmbeddedDatabase.start(data.resolve("postgres"), postgresPort);
                running.push(db);
                env.add("COALORA_JDBC_URL=" + db.jdbcUrl("postgres"));
            }
            if (kafka) {
                EmbeddedKafka broker = EmbeddedKafka.start(data.resolve("kafka"), kafkaPort);
                running.push(broker);
                Path credentials = EmbeddedKafka.credentialsDir(broker.dataDir());
                KafkaPrincipals.provision(broker.admin(), credentials);
                env.add(0, "KAFKA_BOOTSTRAP_SERVERS=" + broker.bootstrapServers());
                env.add(1, "KAFKA_CREDENTIALS_DIR=" + credentials.toAbsolutePath());
            }
        } catch (Exception e) {
            closeAll(running);
            throw e;
        }
        if (envFile != null) {
            writeAtomically(envFile, String.join("\n", env) + "\n");
        }
        env.forEach(System.out::println);
        System.out.flush();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> closeAll(running), "fleet-infra-shutdown"));
        new CountDownLatch(1).await(); // until a signal runs the hook and the JVM exits
    }

    private static void closeAll(Deque<AutoCloseable> running) {
        while (!running.isEmpty()) {
            try {
                running.pop().close();
            } catch (Exception e) {
                System.err.println("shutdown: " + e);
            }
        }
    }

    /** Readers (deploy/postgres.sh polls for the file) never see half a file. */
    private static void writeAtomically(Path file, String content) throws IOException {
        Path abs = file.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName().toString(), ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static Path defaultDataDir() {
        String cache = System.getenv("XDG_CACHE_HOME");
        Path base =
                cache != null && !cache.isEmpty() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("coalora").resolve("infra");
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            usageError(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    private static void usageError(String message) {
        System.err.println(message);
        System.err.println(USAGE);
        System.exit(2);
    }

    private FleetInfraMain() {}
}
