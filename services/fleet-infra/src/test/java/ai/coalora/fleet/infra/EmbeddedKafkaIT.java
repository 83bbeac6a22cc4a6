package ai.coalora.fleet.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.KafkaConnection;
import ai.coalora.fleet.messaging.KafkaSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded broker: idempotent and transactional producers (the broker's own logins), kept across a restart. */
class EmbeddedKafkaIT {

    private static final String TOPIC = "capabilities";

    @TempDir
    Path dir;

    @Test
    void idempotentAndTransactionalRecordsSurviveARestart() throws Exception {
        List<String> expected = List.of("dev-1=idempotent", "dev-2=committed");
        int port;
        Map<String, KafkaConnection> principals;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir)) {
            port = kafka.port();
            try (Admin admin = Admin.create(KafkaSettings.admin(kafka.admin(), "test"))) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1)
                                .configs(
                                        Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))))
                        .all()
                        .get();
                ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, TOPIC);
                String policy = admin.describeConfigs(Set.of(topic))
                        .all()
                        .get()
                        .get(topic)
                        .get(TopicConfig.CLEANUP_POLICY_CONFIG)
                        .value();
                assertEquals("compact", policy);
            }

            try (KafkaProducer<String, String> p = producer(kafka, null)) {
                p.send(new ProducerRecord<>(TOPIC, "dev-1", "idempotent")).get();
            }
            try (KafkaProducer<String, String> p = producer(kafka, "tx-test")) {
                p.initTransactions();
                p.beginTransaction();
                p.send(new ProducerRecord<>(TOPIC, "dev-x", "aborted"));
                p.abortTransaction();
                p.beginTransaction();
                p.send(new ProducerRecord<>(TOPIC, "dev-2", "committed"));
                p.commitTransaction();
            }
            assertEquals(expected, readCommitted(kafka, "g1"));
            principals = KafkaPrincipals.provision(kafka.admin(), EmbeddedKafka.credentialsDir(dir));
        }

        // Same data dir and port: the records (and the formatted cluster) are still there, and so are the admin's
        // credential (the broker's own login) and the service principals with their ACLs.
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, port)) {
            assertEquals("127.0.0.1:" + port, kafka.bootstrapServers());
            assertEquals(expected, readCommitted(kafka, "g2"));
            KafkaConnection planner = principals.get("planner");
            try (KafkaProducer<String, byte[]> p =
                    new KafkaProducer<>(KafkaSettings.producer(planner, "restart-test"))) {
                p.send(new ProducerRecord<>(Topic.ASSIGNMENTS.name(), "dev-1", new byte[0]))
                        .get(30, TimeUnit.SECONDS);
            }
            // provisioning again (every deploy/kafka.sh start) keeps the passwords the services were given
            assertEquals(principals, KafkaPrincipals.provision(kafka.admin(), EmbeddedKafka.credentialsDir(dir)));
        }
    }

    private static KafkaProducer<String, String> producer(EmbeddedKafka kafka, String transactionalId) {
        Properties p = kafka.admin().properties();
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        if (transactionalId != null) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    /** Reads the topic from the start until the expected count (or a timeout), skipping aborted records. */
    private static List<String> readCommitted(EmbeddedKafka kafka, String group) {
        Properties p = kafka.admin().properties();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<String> seen = new ArrayList<>();
        try (KafkaConsumer<String, String> c =
                new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            c.subscribe(List.of(TOPIC));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (seen.size() < 2 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    seen.add(r.key() + "=" + r.value());
                }
            }
            c.commitSync();
        }
        return seen;
    }
}
