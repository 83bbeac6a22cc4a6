package ai.coalora.fleet.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.coalora.fleet.events.CloudEvent;
import ai.coalora.fleet.events.EventTypes;
import ai.coalora.fleet.events.KafkaCloudEvents;
import ai.coalora.fleet.events.Topic;
import ai.coalora.fleet.messaging.DeadLetters;
import ai.coalora.fleet.messaging.EventHandler;
import ai.coalora.fleet.messaging.KafkaSettings;
import ai.coalora.fleet.messaging.ServiceRuntime;
import ai.coalora.fleet.messaging.Transaction;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records that pass their schema but make the handler throw (a bug, an overflow, a failing batch step) are each
 * dead-lettered with the failure as reason, every other record is applied once and in order per device, and the
 * consumer goes on; an outage-like failure is retried, never dead-lettered. Real broker, real PostgreSQL, the real
 * event processor; only the handler is the test's.
 */
class PoisonRecordsIT {
    static final String SERVICE = "coalora-poison-test";
    static final int DEVICES = 5, PER_DEVICE = 12;

    @TempDir
    static Path dir;

    static EmbeddedKafka kafka;
    static TestDatabase db;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        Path messaging = Path.of("../../migrations/messaging").toAbsolutePath().normalize();
        db = TestDatabase.start("poison", "filesystem:" + messaging);
        db.exec("create table applied_events (seq bigserial primary key, device text not null, n int not null)");
    }

    @AfterAll
    static void stop() {
        if (db != null) db.close();
        if (kafka != null) kafka.close();
    }

    /** Applies telemetry by recording (device, examples); misbehaves for the devices the test names. */
    static final class Handler implements EventHandler {
        final AtomicBoolean flakyFailed = new AtomicBoolean();

        @Override
        public void prepare(List<CloudEvent> fresh) {
            for (CloudEvent e : fresh) {
                if (device(e).equals("poison-prepare")) throw new IllegalArgumentException("cannot prepare " + e.id());
            }
        }

        @Override
        public void apply(CloudEvent event, Transaction tx) throws SQLException {
            String device = device(event);
            switch (device) {
                case "poison-bug" -> throw new IllegalStateException("a bug this event triggers");
                case "poison-overflow" ->
                    Math.addExact(Long.MAX_VALUE, event.data().path("examples").asLong());
                case "flaky" -> {
                    if (flakyFailed.compareAndSet(false, true)) {
                        throw new SQLTransientConnectionException("connection reset", "08006");
                    }
                }
                default -> {}
            }
            try (PreparedStatement st =
                    tx.connection().prepareStatement("insert into applied_events (device, n) values (?, ?)")) {
                st.setString(1, device);
                st.setInt(2, event.data().path("examples").asInt());
                st.executeUpdate();
            }
        }

        static String device(CloudEvent e) {
            return e.data().path("deviceId").asText();
        }
    }

    @Test
    void poisonRecordsAreDeadLetteredAndEveryOtherRecordIsAppliedInOrder() throws Exception {
        Handler handler = new Handler();
        // as the super user: the test's consumer is no service of the ACL table (KafkaAclsIT tests those)
        try (ServiceRuntime runtime = ServiceRuntime.start(
                SERVICE,
                kafka.admin(),
                db.dataSource(),
                List.of(Topic.TELEMETRY),
                List.of(),
                handler,
                new SimpleMeterRegistry())) {
            List<String> poison = List.of("poison-bug", "poison-overflow", "poison-prepare");
            int sent = 0;
            try (KafkaProducer<String, byte[]> producer = producer()) {
                for (int n = 1; n <= PER_DEVICE; n++) {
                    for (int d = 0; d < DEVICES; d++) send(producer, "dev-" + d, n);
                    sent += DEVICES;
                    if (n == 3) {
                        for (String p : poison) send(producer, p, n);
                        send(producer, "flaky", n);
                        sent += poison.size() + 1;
                    }
                }
                producer.flush();
            }
            awaitInbox(sent);

            // every good record once, in order per device; the flaky one applied after its retry
            Map<String, List<Integer>> applied = appliedByDevice();
            for (int d = 0; d < DEVICES; d++) {
                List<Integer> expected = new ArrayList<>();
                for (int n = 1; n <= PER_DEVICE; n++) expected.add(n);
                assertEquals(expected, applied.get("dev-" + d), "dev-" + d + " in order, each once");
            }
            assertEquals(List.of(3), applied.get("flaky"), "an outage-like failure is retried, not dead-lettered");
            for (String p : poison) assertEquals(null, applied.get(p), p + " applied nothing");
            assertTrue(handler.flakyFailed.get());

            // each poison record dead-lettered, with the failure as reason
            assertEquals(
                    poison.size(),
                    db.count("select count(*) from inbox where outcome = 'dead-lettered'"),
                    "dead-lettered in the inbox");
            Map<String, String> reasons = deadLetterReasons(poison.size());
            assertEquals(Set.copyOf(poison), reasons.keySet());
            assertTrue(
                    reasons.get("poison-bug").contains("IllegalStateException: a bug this event triggers"),
                    reasons.get("poison-bug"));
            assertTrue(reasons.get("poison-overflow").contains("ArithmeticException"), reasons.get("poison-overflow"));
            assertTrue(
                    reasons.get("poison-prepare").contains("IllegalArgumentException: cannot prepare"),
                    reasons.get("poison-prepare"));

            // and the consumer goes on: a record after the poison is applied, and the processor reports no error
            try (KafkaProducer<String, byte[]> producer = producer()) {
                send(producer, "dev-0", PER_DEVICE + 1);
                producer.flush();
            }
            awaitInbox(sent + 1);
            assertEquals(PER_DEVICE + 1, appliedByDevice().get("dev-0").size());
            assertNull(runtime.processor().lastError());
            assertEquals(poison.size(), runtime.processor().deadLettered());
        }
    }

    static KafkaProducer<String, byte[]> producer() {
        return new KafkaProducer<>(
                KafkaSettings.producer(kafka.admin(), "poison-test-producer"),
                new StringSerializer(),
                new ByteArraySerializer());
    }

    static void send(KafkaProducer<String, byte[]> producer, String device, int n) {
        ObjectNode data = JsonNodeFactory.instance.objectNode();
        data.put("deviceId", device);
        data.put("modelVersion", "0".repeat(64));
        data.put("configId", "1".repeat(64));
        data.put("packageSha256", "2".repeat(64));
        data.put("accuracy", 0.5);
        data.put("examples", n);
        data.put("latencyMsPerExample", 1.0);
        data.put("memoryBytes", 0);
        data.put("measuredAt", "2026-01-01T00:00:00Z");
        CloudEvent e = CloudEvent.create(
                "/devices/" + device,
                EventTypes.TELEMETRY,
                device,
                "https://schemas.coalora.ai/" + EventTypes.TELEMETRY + ".schema.json",
                data);
        producer.send(new ProducerRecord<>(
                Topic.TELEMETRY.name(), null, device, KafkaCloudEvents.value(e), KafkaCloudEvents.headers(e)));
    }

    static void awaitInbox(long records) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (db.count("select count(*) from inbox") < records) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + db.count("select count(*) from inbox") + " of " + records
                        + " records processed in 120 s: the consumer stalled");
            }
            Thread.sleep(100);
        }
    }

    static Map<String, List<Integer>> appliedByDevice() throws SQLException {
        Map<String, List<Integer>> out = new HashMap<>();
        List<Object> devices = db.column("select device from applied_events order by seq");
        List<Object> ns = db.column("select n from applied_events order by seq");
        for (int i = 0; i < devices.size(); i++) {
            out.computeIfAbsent((String) devices.get(i), k -> new ArrayList<>()).add(((Number) ns.get(i)).intValue());
        }
        return out;
    }

    /** Reads the dead-letter topic until it holds {@code expected} records: device (the key) to reason. */
    static Map<String, String> deadLetterReasons(int expected) {
        Map<String, String> out = new HashMap<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(
                KafkaSettings.consumer(kafka.admin(), "poison-test-dlq-reader", "poison-test-dlq-reader"))) {
            c.subscribe(List.of(Topic.TELEMETRY.deadLetter().name()));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    out.put(r.key(), DeadLetters.reasonOf(r.headers()));
                }
            }
        }
        return out;
    }
}
