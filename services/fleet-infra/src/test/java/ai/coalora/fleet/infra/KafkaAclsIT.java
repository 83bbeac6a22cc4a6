package ai.coalora.fleet.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.ServiceTopics;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
import ai.coalora.fleet.messaging.TopicAdmin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.security.plain.PlainLoginModule;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The closed broker, from outside: no anonymous client, no wrong password, and each service principal may write
 * exactly its row of {@link ServiceTopics} and read its inputs in its own consumer group. Every refusal is an error
 * within seconds, not a hang: the clients here wait at most a few seconds.
 */
class KafkaAclsIT {
    static final Duration SHORT = Duration.ofMillis(1500);
    static final Duration BOUND = Duration.ofSeconds(15);

    @TempDir
    static Path dir;

    static EmbeddedKafka kafka;
    static Map<String, KafkaConnection> principals;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        principals = KafkaPrincipals.provision(kafka.admin(), EmbeddedKafka.credentialsDir(kafka.dataDir()));
    }

    @AfterAll
    static void stop() {
        if (kafka != null) kafka.close();
    }

    @Test
    void theBrokersAclsAreTheTableAndThePasswordsAreOwnerOnly() throws Exception {
        Set<AclBinding> expected = new LinkedHashSet<>();
        for (ServiceTopics s : ServiceTopics.ALL) expected.addAll(KafkaPrincipals.acls(s));
        assertEquals(expected, KafkaPrincipals.current(kafka.admin(), principals.keySet()));
        assertEquals(
                ServiceTopics.ALL.stream().map(ServiceTopics::principal).toList(), List.copyOf(principals.keySet()));
        Path credentials = EmbeddedKafka.credentialsDir(kafka.dataDir());
        for (String name : List.of("admin", "registry", "planner", "adapter-generator", "trainer")) {
            assertEquals(
                    "rw-------",
                    PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(credentials.resolve(name + ".password"))),
                    name + ".password");
        }
        assertEquals(
                "rw-------",
                PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(kafka.dataDir().resolve("server.properties"))),
                "server.properties holds the admin's password");
    }

    @Test
    void anUnauthenticatedClientCanNeitherProduceNorConsumeNorCreateTopics() throws Exception {
        List<Topic> topics = ServiceTopics.allTopics();
        // one record per topic, written by its rightful writer, that the anonymous consumer must not see
        for (Topic t : topics) {
            String writer = ServiceTopics.ALL.stream()
                    .filter(s -> s.writes().contains(t))
                    .findFirst()
                    .orElseThrow()
                    .principal();
            assertNull(produce(principals.get(writer), t.name()), writer + " writes " + t.name());
        }
        Map<String, Long> before = new HashMap<>();
        try (Admin admin = Admin.create(KafkaSettings.admin(kafka.admin(), "check"))) {
            for (Topic t : topics) before.put(t.name(), endOffset(admin, t));
        }
        ExecutorService pool = Executors.newFixedThreadPool(topics.size());
        try {
            List<Future<List<Throwable>>> attempts = new ArrayList<>();
            for (Topic t : topics) {
                attempts.add(pool.submit(() -> {
                    List<Throwable> refused = new ArrayList<>();
                    try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(anonymous(ProducerConfig.class))) {
                        refused.add(failure(() -> p.send(new ProducerRecord<>(t.name(), "anon", new byte[] {1}))
                                .get(30, TimeUnit.SECONDS)));
                    }
                    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(anonymous(ConsumerConfig.class))) {
                        refused.add(failure(() -> c.partitionsFor(t.name(), SHORT)));
                        c.subscribe(List.of(t.name()));
                        int seen = c.poll(SHORT).count();
                        refused.add(seen == 0 ? new TimeoutException("nothing read") : null);
                    }
                    return refused;
                }));
            }
            for (int i = 0; i < topics.size(); i++) {
                List<Throwable> refused = attempts.get(i).get(60, TimeUnit.SECONDS);
                for (Throwable r : refused) {
                    assertNotNull(
                            r,
                            "an anonymous client got through on "
                                    + topics.get(i).name());
                    // the broker answers nothing but the SASL handshake: the client never gets metadata
                    assertInstanceOf(TimeoutException.class, r, topics.get(i).name());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        try (Admin anonymous = Admin.create(anonymous(AdminClientConfig.class))) {
            Throwable refused = failure(() -> anonymous
                    .createTopics(List.of(new NewTopic("coalora.anonymous", 1, (short) 1)))
                    .all()
                    .get(30, TimeUnit.SECONDS));
            assertInstanceOf(TimeoutException.class, refused);
        }
        // nor through the controller listener, which knows only the admin (PLAIN)
        Properties controller = new Properties();
        controller.put(AdminClientConfig.BOOTSTRAP_CONTROLLERS_CONFIG, "127.0.0.1:" + kafka.controllerPort());
        boundedTimeouts(controller);
        Properties anonymousController = new Properties();
        anonymousController.putAll(controller);
        shortTimeouts(anonymousController);
        try (Admin anonymous = Admin.create(anonymousController)) {
            assertNotNull(failure(() -> anonymous
                    .createTopics(List.of(new NewTopic("coalora.anonymous", 1, (short) 1)))
                    .all()
                    .get(30, TimeUnit.SECONDS)));
        }
        for (String[] login : List.of(new String[] {"admin", "wrong"}, new String[] {"planner", "wrong"})) {
            Properties plain = new Properties();
            plain.putAll(controller);
            plain.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
            plain.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
            plain.put(
                    SaslConfigs.SASL_JAAS_CONFIG,
                    PlainLoginModule.class.getName() + " required username=\"" + login[0] + "\" password=\"" + login[1]
                            + "\";");
            try (Admin wrong = Admin.create(plain)) {
                assertInstanceOf(
                        SaslAuthenticationException.class,
                        failure(() -> wrong.describeCluster().nodes().get(30, TimeUnit.SECONDS)),
                        login[0] + " with a wrong password on the controller listener");
            }
        }
        // a service's SCRAM login is not a controller login
        Properties scram = principals.get("registry").properties();
        scram.remove(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        scram.putAll(controller);
        try (Admin service = Admin.create(scram)) {
            assertInstanceOf(
                    AuthenticationException.class,
                    failure(() -> service.describeCluster().nodes().get(30, TimeUnit.SECONDS)));
        }
        try (Admin admin = Admin.create(KafkaSettings.admin(kafka.admin(), "check"))) {
            assertFalse(admin.listTopics().names().get().contains("coalora.anonymous"));
            for (Topic t : topics)
                assertEquals(before.get(t.name()), endOffset(admin, t), t.name() + ": nothing written anonymously");
        }
    }

    @Test
    void aWrongPasswordOrAnUnknownUserIsRefused() {
        KafkaConnection planner = principals.get("planner");
        for (KafkaConnection wrong : List.of(
                planner.as("planner", planner.password() + "x"),
                planner.as("admin", "not-the-password"),
                planner.as("nobody", planner.password()))) {
            Throwable refused = produce(wrong, Topic.ASSIGNMENTS.name());
            assertInstanceOf(SaslAuthenticationException.class, refused, wrong.username());
            Properties c = KafkaSettings.consumer(wrong, "coalora-planner", "wrong-password");
            boundedTimeouts(c);
            try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c)) {
                assertInstanceOf(
                        SaslAuthenticationException.class,
                        failure(() -> consumer.partitionsFor(Topic.CAPABILITIES.name(), BOUND)));
            }
        }
    }

    @Test
    void aServiceStartRefusedByTheBrokerSaysWhy() {
        KafkaConnection planner = principals.get("planner");
        List<Topic> inputs = ServiceTopics.of("planner").orElseThrow().reads();
        TopicAdmin.ensure(planner, List.of(Topic.ASSIGNMENTS), inputs); // all there: creates nothing
        String wrong = assertThrows(
                        IllegalStateException.class,
                        () -> TopicAdmin.ensure(planner.as("planner", "wrong"), List.of(Topic.ASSIGNMENTS), inputs))
                .getMessage();
        assertTrue(wrong.contains("refused user planner") && wrong.contains("KAFKA_SASL_PASSWORD"), wrong);
        Topic missing = new Topic("coalora.not.provisioned", null, false, Duration.ofDays(1), 1);
        String create = assertThrows(
                        IllegalStateException.class, () -> TopicAdmin.ensure(planner, List.of(missing), List.of()))
                .getMessage();
        assertTrue(create.contains("may not create"), create);
    }

    @Test
    void eachServiceWritesItsOwnTopicsAndIsRefusedEveryOther() throws Exception {
        for (ServiceTopics s : ServiceTopics.ALL) {
            KafkaConnection conn = principals.get(s.principal());
            Properties props = KafkaSettings.producer(conn, s.principal() + "-acl-test");
            boundedTimeouts(props);
            try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(props)) {
                for (Topic t : ServiceTopics.allTopics()) {
                    Throwable refused = failure(() -> p.send(new ProducerRecord<>(t.name(), "acl-test", new byte[] {1}))
                            .get(30, TimeUnit.SECONDS));
                    if (s.writeNames().contains(t.name())) {
                        assertNull(refused, s.principal() + " writes its own " + t.name());
                    } else {
                        assertInstanceOf(
                                TopicAuthorizationException.class, refused, s.principal() + " writing " + t.name());
                    }
                }
            }
            try (Admin admin = Admin.create(KafkaSettings.admin(conn, "acl-test"))) {
                // no service creates topics (the admin created them all), nor users nor ACLs
                assertInstanceOf(
                        TopicAuthorizationException.class,
                        failure(() -> admin.createTopics(
                                        List.of(new NewTopic("coalora." + s.principal() + ".new", 1, (short) 1)))
                                .all()
                                .get(30, TimeUnit.SECONDS)));
                assertInstanceOf(
                        ClusterAuthorizationException.class,
                        failure(() -> admin.createAcls(KafkaPrincipals.acls(ServiceTopics.ALL.get(0)))
                                .all()
                                .get(30, TimeUnit.SECONDS)));
                // it sees (describes) only its own topics
                Set<String> visible = admin.listTopics().names().get(30, TimeUnit.SECONDS);
                Set<String> own = new HashSet<>(s.writeNames());
                s.reads().forEach(t -> own.add(t.name()));
                assertEquals(own, visible, s.principal() + " lists");
            }
        }
    }

    @Test
    void eachServiceConsumesItsInputsInItsOwnGroupAndNoOther() throws Exception {
        for (Topic t : Topic.ALL) {
            KafkaConnection owner = principals.get(ServiceTopics.ownerOf(t));
            assertNull(produce(owner, t.name()), ServiceTopics.ownerOf(t) + " writes " + t.name());
        }
        for (ServiceTopics s : ServiceTopics.ALL) {
            KafkaConnection conn = principals.get(s.principal());
            Set<String> inputs = new HashSet<>();
            s.reads().forEach(t -> inputs.add(t.name()));
            try (KafkaConsumer<String, byte[]> c =
                    new KafkaConsumer<>(KafkaSettings.consumer(conn, s.group(), s.principal() + "-acl-test"))) {
                c.subscribe(inputs);
                Set<String> seen = new HashSet<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!seen.equals(inputs) && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) seen.add(r.topic());
                }
                assertEquals(inputs, seen, s.group() + " reads each of its inputs");
                c.commitSync();
            }
            // another service's group: refused
            String otherGroup = ServiceTopics.ALL.stream()
                    .filter(o -> o != s)
                    .findFirst()
                    .orElseThrow()
                    .group();
            Properties og = KafkaSettings.consumer(conn, otherGroup, s.principal() + "-acl-test");
            boundedTimeouts(og);
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(og)) {
                c.subscribe(inputs);
                assertInstanceOf(GroupAuthorizationException.class, failure(() -> pollFor(c, BOUND)));
            }
            // a topic it does not read, in its own group: refused
            Topic notRead = Topic.ALL.stream()
                    .filter(t -> !s.reads().contains(t))
                    .findFirst()
                    .orElseThrow();
            Properties own = KafkaSettings.consumer(conn, s.group(), s.principal() + "-acl-test");
            boundedTimeouts(own);
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(own)) {
                c.subscribe(List.of(notRead.name()));
                assertInstanceOf(
                        TopicAuthorizationException.class,
                        failure(() -> pollFor(c, BOUND)),
                        s.principal() + " reading " + notRead.name());
            }
        }
    }

    /** A client of the client listener with no credentials at all, and short timeouts. */
    static Properties anonymous(Class<?> kind) {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        if (kind == ProducerConfig.class) {
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        } else if (kind == ConsumerConfig.class) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, "anonymous");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        }
        shortTimeouts(p);
        return p;
    }

    /** Polls until {@code bound} passes or the consumer throws (a refusal comes within a poll or two). */
    static Void pollFor(KafkaConsumer<String, byte[]> c, Duration bound) {
        long end = System.nanoTime() + bound.toNanos();
        while (System.nanoTime() < end) c.poll(Duration.ofMillis(200));
        return null;
    }

    /**
     * For clients that log in: the broker answers a refusal at once, so these bounds only keep a failing test from
     * waiting a minute on a busy host.
     */
    static void boundedTimeouts(Properties p) {
        int ms = (int) BOUND.toMillis();
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, ms);
        p.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, ms);
        p.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 2 * ms);
    }

    /** For clients that never authenticate: waiting for metadata that never comes is their refusal. */
    static void shortTimeouts(Properties p) {
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) SHORT.toMillis());
        p.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, (int) SHORT.toMillis());
        p.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, 2 * (int) SHORT.toMillis());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 2 * (int) SHORT.toMillis() + 100);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    }

    /** One record as {@code who}; null when written, else why not. */
    static Throwable produce(KafkaConnection who, String topic) {
        Properties props = KafkaSettings.producer(who, who.username() + "-test");
        boundedTimeouts(props);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(props)) {
            return failure(() ->
                    p.send(new ProducerRecord<>(topic, "k", new byte[] {1})).get(30, TimeUnit.SECONDS));
        }
    }

    static long endOffset(Admin admin, Topic t) throws Exception {
        var partitions = admin.describeTopics(List.of(t.name()))
                .allTopicNames()
                .get()
                .get(t.name())
                .partitions();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (var p : partitions) latest.put(new TopicPartition(t.name(), p.partition()), OffsetSpec.latest());
        long sum = 0;
        for (var info : admin.listOffsets(latest).all().get().values()) sum += info.offset();
        return sum;
    }

    /** What an attempt threw (unwrapped), or null if it succeeded. */
    static Throwable failure(Callable<?> attempt) {
        try {
            attempt.call();
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            return e;
        }
    }
}
